package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apitokens/apitokens/cmd/internal/lambdas"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// costAction is a row of the cost table: an action, the function that serves it, and the events
// of its calls on a table of its own; the last call is the warm one measured, the first the one
// that starts the execution environment.
type costAction struct {
	name, function string
	// gateway says whether the action is an HTTP API request of its own.
	gateway bool
	events  func(ctx context.Context, s *stage) ([][]byte, error)
}

// costSources make the cost table's rows from the template, in the table's order. A kind of
// row of its own (another call than a route's or a check's) is a source in a file of its own.
var costSources = []func(*samtemplate.App) []costAction{checkActions, routeActions, meteredActions}

// costActions returns the cost table's rows.
func costActions(app *samtemplate.App) []costAction {
	var out []costAction
	for _, source := range costSources {
		out = append(out, source(app)...)
	}
	return out
}

// routeActions is one row per route of the template, named by its route key, so that a new
// route is measured without a word here.
func routeActions(app *samtemplate.App) []costAction {
	var out []costAction
	for _, rt := range app.Routes {
		if app.Functions[rt.Function] == nil {
			continue
		}
		out = append(out, costAction{name: rt.Key(), function: rt.Function, gateway: true,
			events: func(ctx context.Context, s *stage) ([][]byte, error) { return s.routeEvents(ctx, app, rt, 2) }})
	}
	return out
}

// checkActions are two rows per key authorizer: a first key fetches the key ring, then a key never
// checked (uncached), and for the cached row the same key again (cached in the function's
// memory).
func checkActions(app *samtemplate.App) []costAction {
	var out []costAction
	for _, name := range slices.Sorted(maps.Keys(app.LambdaAuthorizers)) {
		la := app.LambdaAuthorizers[name]
		rt, _ := findRoute(app, func(r samtemplate.Route) bool { return r.Authorizer == name })
		checks := func(cached bool) func(context.Context, *stage) ([][]byte, error) {
			return func(ctx context.Context, s *stage) ([][]byte, error) {
				var evs [][]byte
				for range 2 {
					_, key, err := s.mint(ctx, s.user())
					if err != nil {
						return nil, err
					}
					evs = append(evs, mustJSON(authorizerRequest(rt, key)))
				}
				if cached {
					evs = append(evs, evs[1])
				}
				return evs, nil
			}
		}
		out = append(out,
			costAction{name: "check uncached", function: la.Function, events: checks(false)},
			costAction{name: "check cached", function: la.Function, events: checks(true)})
	}
	return out
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
	// Duration is a warm call's Duration as the Runtime Interface Emulator reports it, against
	// the local emulator through the meter.
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

// costs measures every action of costActions with the built functions of b, each in an execution
// environment of its own whose AWS calls pass through a meter on their way to the emulator.
func costs(ctx context.Context, side *awsSide, app *samtemplate.App, b bootstraps, progress io.Writer) ([]Cost, error) {
	fmt.Fprintf(progress, "[bench] cost of each action…\n")
	meter, err := newMeter(side)
	if err != nil {
		return nil, err
	}
	proxy, err := startMeterProxy(meter, side.endpoint)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	var out []Cost
	var errs []error
	for _, a := range costActions(app) {
		f := app.Functions[a.function]
		if f == nil {
			errs = append(errs, fmt.Errorf("cost of %s: the template has no %s", a.name, a.function))
			continue
		}
		c, err := measureCost(ctx, side, b, f, a, meter, proxy.url)
		if err != nil {
			errs = append(errs, fmt.Errorf("cost of %s: %w", a.name, err))
			continue
		}
		c.Action, c.Function, c.MemoryMB, c.Gateway = a.name, a.function, f.MemorySize, a.gateway
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// measureCost starts f's bootstrap on a stage of its own with its AWS calls metered, and makes a's
// calls: the first starts the execution environment, the last is the warm one.
func measureCost(ctx context.Context, side *awsSide, b bootstraps, f *samtemplate.Function, a costAction, meter *capacityMeter, proxyURL string) (Cost, error) {
	s, err := side.newStage(ctx, f)
	if err != nil {
		return Cost{}, err
	}
	evs, err := a.events(ctx, s)
	if err != nil {
		return Cost{}, err
	}
	env := maps.Clone(s.env)
	env["AWS_ENDPOINT_URL"] = proxyURL
	log := &capture{}
	meter.take()
	fn, err := lambdas.StartWith(ctx, b.rie, lambdas.BootstrapPath(b.hostDir, f.LogicalID), f, env, log, lambdas.Options{LogLevel: "info"})
	if err != nil {
		return Cost{}, err
	}
	defer fn.Stop()
	var first, warm Usage
	for i, ev := range evs {
		if i > 0 && i == len(evs)-1 {
			meter.take() // the calls between the first and the last are neither
		}
		result, err := fn.Invoke(ctx, ev)
		if err != nil {
			return Cost{}, fmt.Errorf("call %d: %w", i+1, err)
		}
		if err := refused(f, result); err != nil {
			return Cost{}, fmt.Errorf("call %d: %w", i+1, err)
		}
		if i == 0 {
			first = meter.take()
		}
	}
	warm = meter.take()
	took, err := lastDuration(log, len(evs))
	return Cost{Usage: warm, FirstSecretsCalls: first.SecretsCalls, Duration: took}, err
}

// refused returns an error when a call's result is a refusal: a route's answer of 400 or more, or
// the key authorizer's deny.
func refused(f *samtemplate.Function, result []byte) error {
	var resp struct {
		StatusCode   int    `json:"statusCode"`
		Body         string `json:"body"`
		IsAuthorized *bool  `json:"isAuthorized"`
	}
	if err := json.Unmarshal(result, &resp); err != nil {
		return fmt.Errorf("%s answered %.200s: %w", f.LogicalID, result, err)
	}
	if resp.StatusCode >= 400 || (resp.IsAuthorized != nil && !*resp.IsAuthorized) || (resp.StatusCode == 0 && resp.IsAuthorized == nil) {
		return fmt.Errorf("%s answered %.300s", f.LogicalID, result)
	}
	return nil
}

// reportDuration matches the duration of an emulator's REPORT line, not its Init or Billed
// Duration: its fields are separated by tabs.
var reportDuration = regexp.MustCompile(`REPORT RequestId: .*\tDuration: ([0-9.]+) ms`)

// lastDuration waits for the emulator's REPORT lines of n calls and returns the last one's
// duration: the handler's time as Lambda bills it.
func lastDuration(log *capture, n int) (time.Duration, error) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		var ms []string
		for line := range strings.SplitSeq(log.String(), "\n") {
			if m := reportDuration.FindStringSubmatch(line); m != nil {
				ms = append(ms, m[1])
			}
		}
		if len(ms) >= n {
			v, err := strconv.ParseFloat(ms[len(ms)-1], 64)
			return time.Duration(v * float64(time.Millisecond)), err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the emulator reported %d of %d calls:\n%s", len(ms), n, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newMeter returns a meter of the table's key attributes, with an unmetered client of its own.
func newMeter(side *awsSide) (*capacityMeter, error) {
	table, err := side.tmpl.CreateTableInput("meter")
	if err != nil {
		return nil, err
	}
	meter := &capacityMeter{db: dynamodb.NewFromConfig(side.cfg)}
	for _, k := range table.KeySchema {
		meter.keys = append(meter.keys, aws.ToString(k.AttributeName))
	}
	return meter, nil
}
