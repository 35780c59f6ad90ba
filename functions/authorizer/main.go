// Command authorizer is the key authorizer: the Lambda authorizer of the integration routes.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apitokens/apitokens/shared/authorizer"
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
	lambda.Start(auth.Handler(deps.Log))
}
