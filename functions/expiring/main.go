// Command expiring is the scheduled function that announces keys expiring soon; see
// handlers.NotifyExpiring.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/service"
)

func main() {
	deps, err := service.FromEnv(context.Background())
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(handlers.NotifyExpiring(deps))
}
