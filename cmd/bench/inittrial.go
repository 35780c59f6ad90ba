package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The init target: the key authorizer's init at most the SDK floor's plus this, on the medians
// of at least minTrialStarts starts each. The trial makes trialStarts (or -runs, if more): the
// two differ by tenths of a millisecond while one start under the emulator varies by several,
// and the median of 7 still moved by about a millisecond from one run to the next.
const (
	initOverFloorMax = 500 * time.Microsecond
	minTrialStarts   = 7
	trialStarts      = 21
)

// InitTrial is the key authorizer's init against the SDK floor's (hello world with the two AWS
// SDK clients built), with hello world beside them: started in turn, authorizer, floor, hello,
// then floor, hello, authorizer …, so that a change in the machine's load weighs on all alike
// and each goes first as often as the others.
type InitTrial struct {
	// Authorizer, Floor and Hello hold the init of each start, in the order they ran.
	Authorizer, Floor, Hello []time.Duration
}

// initTrial starts the three subjects in turn, n times each. Each round makes the three
// subjects' events first (the key authorizer's take a table, a secret and a key in the
// emulator), then starts the three back to back, the round's first subject the next one along
// from the last round's, so that each follows the emulator's work as closely as the others.
func (c *coldBench) initTrial(ctx context.Context, auth, floor, hello subject, n int) (*InitTrial, error) {
	t := &InitTrial{}
	subjects := []subject{auth, floor, hello}
	into := []*[]time.Duration{&t.Authorizer, &t.Floor, &t.Hello}
	for round := range n {
		envs := make([]map[string]string, len(subjects))
		calls := make([][][]byte, len(subjects))
		for i, s := range subjects {
			var err error
			if envs[i], calls[i], err = s.calls(ctx, 1+c.warmCalls); err != nil {
				return nil, fmt.Errorf("init trial, %s, start %d: %w", s.fn.LogicalID, round+1, err)
			}
		}
		for k := range subjects {
			i := (round + k) % len(subjects)
			s := subjects[i]
			smp, err := c.start(ctx, s, envs[i], calls[i])
			if err != nil {
				return nil, fmt.Errorf("init trial, %s, start %d: %w", s.fn.LogicalID, round+1, err)
			}
			*into[i] = append(*into[i], smp.init)
		}
		fmt.Fprintf(c.progress, "[bench] init trial: round %d of %d done\n", round+1, n)
	}
	return t, nil
}

// target judges the trial: pass when the authorizer's median init is at most the floor's plus
// initOverFloorMax; unsure when the paired differences (each authorizer start less the floor
// start beside it) or the shortest starts, the least disturbed by other work, say otherwise.
func (t *InitTrial) target(name string) Target {
	n := min(len(t.Authorizer), len(t.Floor))
	if n < minTrialStarts {
		return Target{Name: name, Measured: fmt.Sprintf("%d starts each, want at least %d", n, minTrialStarts)}
	}
	a, f := median(t.Authorizer), median(t.Floor)
	diffs := make([]time.Duration, n)
	for i := range n {
		diffs[i] = t.Authorizer[i] - t.Floor[i]
	}
	paired := median(diffs)
	leastA, leastF := slices.Min(t.Authorizer), slices.Min(t.Floor)
	out := Target{Name: name, Pass: a <= f+initOverFloorMax}
	out.Measured = fmt.Sprintf("%s vs %s (%s); paired %s; shortest %s vs %s; hello world %s; %d starts each, in turn",
		formatMs(a), formatMs(f), formatSignedMs(a-f), formatSignedMs(paired), formatMs(leastA), formatMs(leastF),
		formatMs(median(t.Hello)), n)
	out.Unsure = (paired <= initOverFloorMax) != out.Pass || (leastA <= leastF+initOverFloorMax) != out.Pass
	return out
}
