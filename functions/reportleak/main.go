// Command reportleak is the Lambda function behind GitHub's secret scanning reports; see
// handlers.ReportLeaks.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/leakreport"
	"github.com/apitokens/apitokens/shared/service"
)

func main() {
	deps, err := service.FromEnv(context.Background())
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	keys, err := leakreport.KeysFromEnv(os.Getenv, http.DefaultClient)
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(handlers.ReportLeaks(deps, keys))
}
