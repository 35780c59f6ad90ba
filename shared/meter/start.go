package meter

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apitokens/apitokens/shared/httpapi"
)

// shutdownWrite bounds the last write at shutdown: Lambda gives a runtime 500 ms after SIGTERM
// (with an internal extension) before SIGKILL.
const shutdownWrite = 400 * time.Millisecond

// Start runs a key-guarded route as a Lambda function: h metered by a new Meter over store
// (Wrap); at shutdown it gives back the allowance it holds unspent (Release) and writes its
// usage. Every key-guarded function's main calls it; a test holds template.yaml to that.
func Start(store Store, log *slog.Logger, h httpapi.Handler) {
	m := New(store, time.Now, log)
	startWithShutdown(log, m.Wrap(h), func(ctx context.Context) error {
		return errors.Join(m.Release(ctx), m.Usage().Flush(ctx))
	})
}

// StartFlushing runs handler as a Lambda function that writes what usage holds at shutdown
// (the key authorizer's refusals).
func StartFlushing(usage *Tally, log *slog.Logger, handler any) {
	startWithShutdown(log, handler, usage.Flush)
}

// startWithShutdown runs handler as a Lambda function registered with the Lambda Extensions API
// (an internal extension, through aws-lambda-go), so that Lambda sends it SIGTERM before it
// shuts the instance down; on SIGTERM it runs last, then exits.
func startWithShutdown(log *slog.Logger, handler any, last func(context.Context) error) {
	lambda.StartWithOptions(handler, lambda.WithEnableSIGTERM(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWrite)
		defer cancel()
		if err := last(ctx); err != nil {
			log.Error("shutdown", "err", err.Error())
		} else {
			log.Info("shutdown", "written", true)
		}
		os.Exit(0)
	}))
}
