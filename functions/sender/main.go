// Command sender is the webhook sender, fed by the events queue's SQS event source mapping; see
// handlers.SendEvents.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/webhooks"
)

func main() {
	deps, err := service.FromEnv(context.Background())
	if err == nil && deps.Events == nil {
		err = errors.New("config: EVENTS_QUEUE_URL must be set for the sender")
	}
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	guard := &webhooks.Guard{Targets: deps.Config.Webhooks.Targets, Resolver: net.DefaultResolver}
	lambda.Start(handlers.SendEvents(deps, guard.Client(deps.Config.Webhooks.Timeout)))
}
