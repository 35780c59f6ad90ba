// Package metersim drives one key through several independent meters at once, as many Lambda
// instances of a route would, against a real table: each instance has its own memory, its own
// DynamoDB client and its own table model. The meter's tests and the bench read its figures:
// admitted calls against the limit, where the first refusal came, and DynamoDB writes per call.
package metersim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apitokens/apitokens/shared/meter"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/emulatortest"
)

// Scenario is one run: Calls calls of the key with limits Limits, made by Callers goroutines
// through Instances meters (caller i uses instance i mod Instances), all at the time Now gives.
type Scenario struct {
	Limits    meter.Limits
	Instances int
	Callers   int
	Calls     int
	Now       func() time.Time
}

// Result is what a run came to.
type Result struct {
	Calls, Admitted, RateLimited, QuotaExhausted int
	// AdmittedAtFirstRefusal is how many calls had been admitted when the first 429 was
	// answered; Calls when there was none.
	AdmittedAtFirstRefusal int
	// Writes is the DynamoDB writes the meters made; WritesBelowHalf and CallsBelowHalf those
	// made and the calls decided until half the limit was admitted.
	Writes, WritesBelowHalf, CallsBelowHalf int
}

// String sums the result up for a log or a report.
func (r Result) String() string {
	return fmt.Sprintf("%d calls: %d admitted, %d rate limited, %d quota exhausted; first 429 at %d admitted; %d writes (%.3f per call; %.3f below half the limit)",
		r.Calls, r.Admitted, r.RateLimited, r.QuotaExhausted, r.AdmittedAtFirstRefusal, r.Writes,
		float64(r.Writes)/float64(max(r.Calls, 1)), float64(r.WritesBelowHalf)/float64(max(r.CallsBelowHalf, 1)))
}

// Instance is one function instance's meter with the client it writes through.
type Instance struct {
	Meter *meter.Meter
	calls *emulatortest.Calls
}

// Writes is the DynamoDB writes the instance made.
func (in *Instance) Writes() int {
	return in.calls.Count("DynamoDB.UpdateItem") + in.calls.Count("DynamoDB.PutItem") + in.calls.Count("DynamoDB.TransactWriteItems")
}

// Instances makes n independent instances over the table of cfg, each with its own client.
func Instances(cfg aws.Config, table string, n int, now func() time.Time) []*Instance {
	out := make([]*Instance, n)
	for i := range out {
		calls := &emulatortest.Calls{}
		c := cfg.Copy()
		calls.Option()(&c)
		store := tokenstore.New(dynamodb.NewFromConfig(c), table, now)
		out[i] = &Instance{Meter: meter.New(store, now, slog.New(slog.NewTextHandler(io.Discard, nil))), calls: calls}
	}
	return out
}

// Run runs s through instances (made with Instances, for as many instances as s names).
func Run(ctx context.Context, s Scenario, instances []*Instance) (Result, error) {
	limit := 0
	switch {
	case s.Limits.RateLimit != nil:
		limit = s.Limits.RateLimit.Requests
	case s.Limits.Quota != nil:
		limit = s.Limits.Quota.RequestsPerMonth
	}
	var (
		next, admitted, rate, quota atomic.Int64
		firstRefusal                atomic.Int64
		halfOnce                    sync.Once
		half                        Result
		errOnce                     sync.Once
		firstErr                    error
		wg                          sync.WaitGroup
	)
	firstRefusal.Store(-1)
	writes := func() int {
		n := 0
		for _, in := range instances[:s.Instances] {
			n += in.Writes()
		}
		return n
	}
	before := writes()
	for c := range s.Callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := instances[c%s.Instances].Meter
			for next.Add(1) <= int64(s.Calls) {
				d, err := m.Decide(ctx, s.Limits)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				switch d.Outcome {
				case meter.Allowed:
					if n := admitted.Add(1); int(n) == limit/2 {
						halfOnce.Do(func() { half.Writes, half.Calls = writes()-before, int(next.Load()) })
					}
				case meter.RateLimited:
					rate.Add(1)
					firstRefusal.CompareAndSwap(-1, admitted.Load())
				case meter.QuotaExhausted:
					quota.Add(1)
					firstRefusal.CompareAndSwap(-1, admitted.Load())
				}
			}
		}()
	}
	wg.Wait()
	r := Result{
		Calls: s.Calls, Admitted: int(admitted.Load()), RateLimited: int(rate.Load()), QuotaExhausted: int(quota.Load()),
		AdmittedAtFirstRefusal: int(firstRefusal.Load()), Writes: writes() - before,
		WritesBelowHalf: half.Writes, CallsBelowHalf: half.Calls,
	}
	if r.AdmittedAtFirstRefusal < 0 {
		r.AdmittedAtFirstRefusal = r.Calls
	}
	return r, firstErr
}
