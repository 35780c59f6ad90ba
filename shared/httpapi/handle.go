package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Handler is the one signature of a route: a route's logic given to Handle (a response, or an
// error that ProblemFor answers), and the route Handle returns for Lambda to run.
type Handler = func(ctx context.Context, req Request) (Response, error)

// Handle wraps a route's logic as a Lambda handler: errors become problem responses, and every
// request leaves one structured log line with its request ids, route, status and duration. An
// unexpected error is logged with its text and answered with a bare 500; the answer never
// carries it. The Lambda itself never fails on an HTTP outcome.
func Handle(name string, log *slog.Logger, fn Handler) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		resp, err := fn(ctx, req)
		if err != nil {
			resp = ProblemResponse(err)
		}
		attrs := []slog.Attr{
			slog.String("function", name),
			slog.String("requestId", req.RequestContext.RequestID),
			slog.String("route", req.RouteKey),
			slog.Int("status", resp.StatusCode),
			slog.Int64("durationMs", time.Since(start).Milliseconds()),
		}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			attrs = append(attrs, slog.String("awsRequestId", lc.AwsRequestID))
		}
		level := slog.LevelInfo
		if resp.StatusCode >= 500 {
			level = slog.LevelError
			if err != nil {
				attrs = append(attrs, slog.String("err", err.Error()))
			}
		}
		log.LogAttrs(ctx, level, "request", attrs...)
		return resp, nil
	}
}
