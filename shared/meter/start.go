package meter

import (
	"context"
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
// (Wrap), its usage written at shutdown (StartFlushing). Every key-guarded function's main
// calls it; a test holds template.yaml to that.
func Start(store Store, log *slog.Logger, h httpapi.Handler) {
	m := New(store, time.Now, log)
	StartFlushing(m.Usage(), log, m.Wrap(h))
}

// StartFlushing runs handler as a Lambda function registered with the Lambda Extensions API (an
// internal extension, through aws-lambda-go), so that Lambda sends it SIGTERM before it shuts
// the instance down; on SIGTERM it writes what usage holds, then exits.
func StartFlushing(usage *Tally, log *slog.Logger, handler any) {
	lambda.StartWithOptions(handler, lambda.WithEnableSIGTERM(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWrite)
		defer cancel()
		if err := usage.Flush(ctx); err != nil {
			log.Error("usage at shutdown", "err", err.Error())
		} else {
			log.Info("usage at shutdown", "written", true)
		}
		os.Exit(0)
	}))
}
