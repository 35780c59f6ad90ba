// Command unsubscribe is the Lambda function behind one integration route; metered (shared/meter); see handlers.DeleteSubscription.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/meter"
	"github.com/apitokens/apitokens/shared/service"
)

func main() {
	deps, err := service.FromEnv(context.Background())
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	meter.Start(deps.Store, deps.Log, handlers.DeleteSubscription(deps))
}
