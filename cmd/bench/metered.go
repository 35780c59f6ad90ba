package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/meter"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/metersim"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// meteredRoute is the route the "metered call" row measures.
const meteredRoute = "GET /v1/me"

// meteredActions is the "metered call" row: GET /v1/me with a key whose every call claims (a
// limit of 3 an hour: every block is 1, a write per call), the most a call of a metered key
// costs our side. The gateway's price is excluded: it is the route's row.
func meteredActions(app *samtemplate.App) []costAction {
	rt, ok := findRoute(app, func(r samtemplate.Route) bool { return r.Key() == meteredRoute })
	if !ok {
		return nil
	}
	return []costAction{{name: "metered call", function: rt.Function,
		events: func(ctx context.Context, s *stage) ([][]byte, error) {
			_, keyCtx, err := s.meteredKey(ctx, `{"name":"bench","rateLimit":{"requests":3,"windowSeconds":3600}}`)
			if err != nil {
				return nil, err
			}
			return [][]byte{mustJSON(keyRequest(rt, keyCtx, nil, "")), mustJSON(keyRequest(rt, keyCtx, nil, ""))}, nil
		}}}
}

// meteredKey creates a token with body as the create route would and returns its key with what
// the key authorizer answers for it.
func (s *stage) meteredKey(ctx context.Context, body string) (string, map[string]any, error) {
	rt := samtemplate.Route{Method: "POST", Path: "/v1/tokens"}
	resp, err := handlers.CreateToken(s.deps)(ctx, sessionRequest(rt, s.deps.Config.Claims, s.user(), nil, body))
	if err != nil {
		return "", nil, err
	}
	var created struct{ Key string }
	if resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), &created) != nil {
		return "", nil, fmt.Errorf("create a metered token: answered %d %.300s", resp.StatusCode, resp.Body)
	}
	d, err := authorizer.New(s.deps.Format, s.deps.Keys, s.deps.Store, 0, s.deps.Now).Check(ctx, "Bearer "+created.Key)
	if err != nil || !d.Allowed {
		return "", nil, fmt.Errorf("the key authorizer did not allow a metered key: %s, %v", d.Reason, err)
	}
	return created.Key, d.Context, nil
}

// MeterRun is one multi-instance run of the meter, as the report shows it.
type MeterRun struct {
	Name string
	metersim.Result
}

// meterRuns are the runs the report shows: 8 callers through 4 independent instances (each its
// own memory and DynamoDB client) against the emulator, as TestManyInstances holds them.
var meterRuns = []struct {
	name   string
	limits meter.Limits
	calls  int
}{
	{"6,000 per minute", meter.Limits{RateLimit: &policy.RateLimit{Requests: 6000, WindowSeconds: 60}}, 7000},
	{"600 per minute", meter.Limits{RateLimit: &policy.RateLimit{Requests: 600, WindowSeconds: 60}}, 800},
	{"30 per minute", meter.Limits{RateLimit: &policy.RateLimit{Requests: 30, WindowSeconds: 60}}, 50},
	{"a quota of 40 a month", meter.Limits{Quota: &policy.Quota{RequestsPerMonth: 40}}, 60},
}

// meterAccuracy runs meterRuns on the table of cfg.
func meterAccuracy(ctx context.Context, cfg aws.Config, table string, progress io.Writer) ([]MeterRun, error) {
	fmt.Fprintf(progress, "[bench] the meter across 4 instances…\n")
	at := time.Date(2026, 11, 18, 9, 0, 10, 0, time.UTC)
	now := func() time.Time { return at }
	var out []MeterRun
	for i, r := range meterRuns {
		l := r.limits
		l.TokenID, l.EnvironmentID = fmt.Sprintf("tok_bench_meter_%d", i), "bench-meter"
		res, err := metersim.Run(ctx, metersim.Scenario{Limits: l, Instances: 4, Callers: 8, Calls: r.calls, Now: now},
			metersim.Instances(cfg, table, 4, now))
		if err != nil {
			return out, fmt.Errorf("meter run %s: %w", r.name, err)
		}
		out = append(out, MeterRun{Name: r.name, Result: res})
	}
	return out, nil
}

// meterFigures stands up the emulator with a table of its own and runs meterAccuracy into report.
func meterFigures(ctx context.Context, root string, progress io.Writer, report *Report) error {
	side, stop, err := startSide(ctx, root, filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	defer stop()
	res, err := emulator.ProvisionNew(ctx, side.cfg, side.tmpl, "bench-meter", "bench-meter-keyring")
	if err != nil {
		return err
	}
	report.Meter, err = meterAccuracy(ctx, side.cfg, res.TableName, progress)
	return err
}

// meterTable shows the meter's runs across instances.
func (r *Report) meterTable(w writer) {
	if len(r.Meter) == 0 {
		return
	}
	w("## The meter across instances\n\n")
	w("8 callers through 4 independent instances of the meter (each its own memory and DynamoDB client), against the emulator, one window (docs/metering.md).\n\n")
	w("| limit | calls | admitted | 429 | first 429 at | writes per call | below half the limit |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range r.Meter {
		w("| %s | %d | %d | %d | %d admitted | %.3f | %.3f |\n", m.Name, m.Calls, m.Admitted, m.RateLimited+m.QuotaExhausted,
			m.AdmittedAtFirstRefusal, float64(m.Writes)/float64(max(m.Calls, 1)), float64(m.WritesBelowHalf)/float64(max(m.CallsBelowHalf, 1)))
	}
	w("\n")
}
