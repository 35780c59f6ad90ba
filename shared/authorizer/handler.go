package authorizer

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Handler is the Lambda handler: an HTTP API payload 2.0 request in, a simple response out. The
// key is taken from the identity source (the Authorization header). Every call leaves one log
// line with the request id, the decision and the token id, never the key. An error fails the
// call closed: API Gateway answers 500 and nothing is allowed.
func (a *Authorizer) Handler(log *slog.Logger) func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	function := functionName()
	return func(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		start := time.Now()
		d, err := a.Authorize(ctx, callOf(req))
		attrs := []slog.Attr{
			slog.String("function", "authorizer"),
			slog.String("requestId", req.RequestContext.RequestID),
			slog.String("route", req.RouteKey),
			slog.Int64("durationMs", time.Since(start).Milliseconds()),
		}
		if err != nil {
			attrs = append(attrs, decisionMetric(function, OutcomeFailed, start)...)
			log.LogAttrs(ctx, slog.LevelError, "authorize", append(attrs, slog.String("err", err.Error()))...)
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, err
		}
		attrs = append(attrs, slog.Bool("allowed", d.Allowed), slog.String("reason", string(d.Reason)), slog.Bool("cached", d.Cached))
		attrs = append(attrs, decisionMetric(function, outcome(d), start)...)
		if d.TokenID != "" {
			attrs = append(attrs, slog.String("tokenId", d.TokenID))
		}
		level := slog.LevelInfo
		if d.TouchErr != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("lastUsedErr", d.TouchErr.Error()))
		}
		if err := a.countUsage(ctx, d); err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("usageErr", err.Error()))
		}
		log.LogAttrs(ctx, level, "authorize", attrs...)
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: d.Allowed, Context: d.Context}, nil
	}
}

func outcome(d Decision) string {
	if d.Allowed {
		return OutcomeAllowed
	}
	return OutcomeRefused
}

// callOf is the call a request asks about: the Authorization header (from the headers, or the
// first identity source), the route and the gateway's source address, never a header the caller
// could set such as X-Forwarded-For.
func callOf(req events.APIGatewayV2CustomAuthorizerV2Request) Call {
	header := req.Headers["authorization"]
	if header == "" && len(req.IdentitySource) > 0 {
		header = req.IdentitySource[0]
	}
	return Call{Header: header, Route: req.RouteKey, SourceIP: req.RequestContext.HTTP.SourceIP}
}

// countUsage counts a refusal of a key the authorizer identified (inactive, expired, outside
// its permissions, addresses or policy) in its token's usage, and writes the counts when the
// oldest is due. Allowed calls are counted by the metered route itself; an answer the gateway
// serves from its own cache never reaches here, so those refusals are not counted.
func (a *Authorizer) countUsage(ctx context.Context, d Decision) error {
	if a.Usage == nil {
		return nil
	}
	if !d.Allowed && d.TokenID != "" && d.EnvironmentID != "" {
		a.Usage.Add(d.EnvironmentID, d.TokenID, a.now(), tokenstore.UsageCounts{Refused: 1})
	}
	return a.Usage.FlushDue(ctx)
}
