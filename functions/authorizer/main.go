// Command authorizer is the key authorizer: the Lambda authorizer of the integration routes.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/meter"
	"github.com/apitokens/apitokens/shared/service"
)

func main() {
	deps, err := service.FromEnv(context.Background())
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	auth := authorizer.New(deps.Format, deps.Keys, deps.Store, deps.Config.AuthCacheTTL, deps.Now)
	auth.PolicyTTL = deps.Config.PolicyCacheTTL
	usage := meter.NewTally(deps.Store, deps.Now)
	auth.Usage = usage
	meter.StartFlushing(usage, deps.Log, auth.Handler(deps.Log))
}
