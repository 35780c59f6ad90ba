package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// handlerFunc is a route function's handler.
type handlerFunc = func(context.Context, httpapi.Request) (httpapi.Response, error)

// routeHandlers are the handlers the route functions' main.go files start, by logical id, made
// from a stage's deps and, for the secret scanning route, the key source its reports verify with.
var routeHandlers = map[string]func(*service.Deps, handlers.Verifier) handlerFunc{
	"CreateTokenFunction":       depsOnly(handlers.CreateToken),
	"ListTokensFunction":        depsOnly(handlers.ListTokens),
	"GetTokenFunction":          depsOnly(handlers.GetToken),
	"RenameTokenFunction":       depsOnly(handlers.RenameToken),
	"RevealTokenFunction":       depsOnly(handlers.RevealToken),
	"DeactivateTokenFunction":   depsOnly(handlers.DeactivateToken),
	"ActivateTokenFunction":     depsOnly(handlers.ActivateToken),
	"DeleteTokenFunction":       depsOnly(handlers.DeleteToken),
	"RollTokenFunction":         depsOnly(handlers.RollToken),
	"RevokePreviousKeyFunction": depsOnly(handlers.RevokePreviousKey),
	"TokenAuditFunction":        depsOnly(handlers.TokenAudit),
	"MeFunction":                depsOnly(handlers.Me),
	"ReceiveHookFunction":       depsOnly(handlers.ReceiveHook),
	"ListHookEventsFunction":    depsOnly(handlers.ListHookEvents),
	"ReportLeakFunction":        handlers.ReportLeaks,
}

// depsOnly is a handler that needs nothing but the deps.
func depsOnly(h func(*service.Deps) handlerFunc) func(*service.Deps, handlers.Verifier) handlerFunc {
	return func(d *service.Deps, _ handlers.Verifier) handlerFunc { return h(d) }
}

// costActions are the cost table's rows: an action and the function that serves it.
var costActions = []struct{ name, function string }{
	{"check uncached", "AuthorizerFunction"},
	{"check cached", "AuthorizerFunction"},
	{"create", "CreateTokenFunction"},
	{"list page", "ListTokensFunction"},
	{"get", "GetTokenFunction"},
	{"rename", "RenameTokenFunction"},
	{"reveal", "RevealTokenFunction"},
	{"deactivate", "DeactivateTokenFunction"},
	{"activate", "ActivateTokenFunction"},
	{"delete", "DeleteTokenFunction"},
	{"roll", "RollTokenFunction"},
	{"revoke previous key", "RevokePreviousKeyFunction"},
	{"audit page", "TokenAuditFunction"},
	{"me", "MeFunction"},
	{"webhook delivery", "ReceiveHookFunction"},
	{"deliveries page", "ListHookEventsFunction"},
	{"leak report", "ReportLeakFunction"},
}

// Cost is what one action consumes on a warm execution environment and what a million of them
// cost.
type Cost struct {
	Action, Function string
	// MemoryMB is the function's memory size in the template.
	MemoryMB int
	// Usage is the DynamoDB and Secrets Manager usage of a warm call.
	Usage
	// FirstSecretsCalls counts the Secrets Manager calls of an execution environment's first
	// call (the key ring fetch), which a warm call does without for the ring's lifetime.
	FirstSecretsCalls int
	// Duration is the handler's wall time on a warm call, in this process, against the local
	// emulator.
	Duration time.Duration
	// Gateway says whether the action is an HTTP API request of its own (the checks are part of
	// the request they authorize).
	Gateway bool
}

// PerMillion returns the price of a million calls: DynamoDB, Secrets Manager, Lambda, HTTP API.
func (c Cost) PerMillion() (dynamo, secrets, lambda, gateway float64) {
	dynamo = c.ReadUnits*dynamoDBReadPerMillionUnits + c.WriteUnits*dynamoDBWritePerMillionUnits
	secrets = float64(c.SecretsCalls) * secretsManagerPerCall * 1e6
	billedMs := math.Max(1, math.Ceil(float64(c.Duration)/float64(time.Millisecond)))
	lambda = lambdaARMPerMillionRequests + float64(c.MemoryMB)/1024*billedMs/1000*1e6*lambdaARMPerGBSecond
	if c.Gateway {
		gateway = httpAPIPerMillionRequests
	}
	return dynamo, secrets, lambda, gateway
}

// costs measures every action of costActions against the emulator, in this process.
func costs(ctx context.Context, side *awsSide, app *samtemplate.App, progress io.Writer) ([]Cost, error) {
	fmt.Fprintf(progress, "[bench] cost of each action…\n")
	var out []Cost
	var errs []error
	for _, a := range costActions {
		f := app.Functions[a.function]
		if f == nil {
			errs = append(errs, fmt.Errorf("cost of %s: the template has no %s", a.name, a.function))
			continue
		}
		c, err := measureCost(ctx, side, app, f, a.name)
		if err != nil {
			errs = append(errs, fmt.Errorf("cost of %s: %w", a.name, err))
			continue
		}
		c.Action, c.Function, c.MemoryMB = a.name, a.function, f.MemorySize
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// measureCost makes one action twice on a stage of its own, through deps whose clients are
// metered: the first call fetches the key ring where it needs it, the second is the warm one.
func measureCost(ctx context.Context, side *awsSide, app *samtemplate.App, f *samtemplate.Function, action string) (Cost, error) {
	s, err := side.newStage(ctx, f)
	if err != nil {
		return Cost{}, err
	}
	meter, deps, err := metered(ctx, side, s)
	if err != nil {
		return Cost{}, err
	}
	if f.LogicalID == "AuthorizerFunction" {
		return checkCost(ctx, s, meter, deps, action == "check cached")
	}
	handler := routeHandlers[f.LogicalID]
	if handler == nil {
		return Cost{}, fmt.Errorf("no handler known for %s", f.LogicalID)
	}
	evs, err := s.events(ctx, app, f, 2)
	if err != nil {
		return Cost{}, err
	}
	var verifier handlers.Verifier
	if s.scan != nil {
		verifier = s.scan.keys() // fetched on the first call, as a cold start fetches it
	}
	h := handler(deps, verifier)
	var first, warm Usage
	var took time.Duration
	for i, ev := range evs {
		var req httpapi.Request
		if err := json.Unmarshal(ev, &req); err != nil {
			return Cost{}, err
		}
		if action == "revoke previous key" {
			// Revoking writes nothing unless a grace runs: roll the key first, unmetered.
			roll := req
			roll.Body, roll.Headers = `{"gracePeriodSeconds":86400}`, maps.Clone(req.Headers)
			roll.Headers["content-type"] = "application/json"
			if resp, err := handlers.RollToken(s.deps)(ctx, roll); err != nil || resp.StatusCode != 200 {
				return Cost{}, fmt.Errorf("roll the key first: %d (%v)", resp.StatusCode, err)
			}
		}
		if action == "activate" {
			// Activating an active token writes nothing: suspend it first, unmetered.
			if resp, err := handlers.DeactivateToken(s.deps)(ctx, req); err != nil || resp.StatusCode != 200 {
				return Cost{}, fmt.Errorf("suspend the token first: %d (%v)", resp.StatusCode, err)
			}
		}
		meter.take()
		start := time.Now()
		resp, err := h(ctx, req)
		took = time.Since(start)
		if err != nil || resp.StatusCode >= 400 {
			return Cost{}, fmt.Errorf("call %d answered %d %.200s (%v)", i+1, resp.StatusCode, resp.Body, err)
		}
		first, warm = warm, meter.take()
	}
	return Cost{Usage: warm, FirstSecretsCalls: first.SecretsCalls, Duration: took, Gateway: true}, nil
}

// checkCost measures the key authorizer: a first key to fetch the key ring, then a key never
// checked (uncached) and the same key again (cached in the function's memory).
func checkCost(ctx context.Context, s *stage, meter *capacityMeter, deps *service.Deps, cached bool) (Cost, error) {
	auth := authorizer.New(deps.Format, deps.Keys, deps.Store, 10*time.Second, deps.Now)
	var keys []string
	for range 2 {
		_, key, err := s.mint(ctx, s.user())
		if err != nil {
			return Cost{}, err
		}
		keys = append(keys, key)
	}
	check := func(key string) (Usage, time.Duration, error) {
		meter.take()
		start := time.Now()
		d, err := auth.Check(ctx, "Bearer "+key)
		took := time.Since(start)
		if err != nil || !d.Allowed {
			return Usage{}, 0, fmt.Errorf("the key authorizer did not allow a new key: %s, %v", d.Reason, err)
		}
		return meter.take(), took, nil
	}
	first, _, err := check(keys[0])
	if err != nil {
		return Cost{}, err
	}
	used, took, err := check(keys[1])
	if err == nil && cached {
		used, took, err = check(keys[1])
	}
	return Cost{Usage: used, FirstSecretsCalls: first.SecretsCalls, Duration: took}, err
}

// metered returns a meter and deps like the stage's whose clients it meters.
func metered(ctx context.Context, side *awsSide, s *stage) (*capacityMeter, *service.Deps, error) {
	db := dynamodb.NewFromConfig(side.cfg)
	table := s.deps.Config.TableName
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, nil, err
	}
	meter := &capacityMeter{db: db}
	for _, k := range desc.Table.KeySchema {
		meter.keys = append(meter.keys, aws.ToString(k.AttributeName))
	}
	cfg := side.cfg.Copy()
	meter.option()(&cfg)
	deps, err := service.New(s.deps.Config, cfg, s.deps.Log, time.Now)
	return meter, deps, err
}
