package meter

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// UsageStore is where a Tally writes its counts.
type UsageStore interface {
	AddUsage(ctx context.Context, env, tokenID string, at time.Time, c tokenstore.UsageCounts) error
}

// FlushAge is how old the oldest unwritten count may grow before a call writes them all: the
// bound on how late a count reaches the table from an instance that keeps being called. An
// instance that is shut down writes its counts on SIGTERM (Start).
const FlushAge = time.Minute

// Tally adds up one instance's calls per token and UTC hour, by outcome, and writes them with
// one AddUsage per token and hour. It runs no goroutine of its own: a Lambda instance is frozen
// between invocations, so counts are written from a call (FlushDue) or at shutdown (Flush). It
// is safe for concurrent use.
type Tally struct {
	store UsageStore
	now   func() time.Time

	mu     sync.Mutex
	counts map[usageKey]tokenstore.UsageCounts
	oldest time.Time // when the oldest unwritten count was added; zero when there is none
	writes int64
}

type usageKey struct {
	env, tokenID string
	hour         time.Time
}

// NewTally returns an empty Tally that writes to store, its clock now.
func NewTally(store UsageStore, now func() time.Time) *Tally {
	return &Tally{store: store, now: now, counts: map[usageKey]tokenstore.UsageCounts{}}
}

// Add counts c for the token in the hour holding at.
func (t *Tally) Add(env, tokenID string, at time.Time, c tokenstore.UsageCounts) {
	k := usageKey{env, tokenID, at.UTC().Truncate(time.Hour)}
	t.mu.Lock()
	defer t.mu.Unlock()
	sum := t.counts[k]
	sum.Add(c)
	t.counts[k] = sum
	if t.oldest.IsZero() {
		t.oldest = t.now()
	}
}

// Writes is how many AddUsage calls the tally has made.
func (t *Tally) Writes() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.writes
}

// FlushDue writes the counts when the oldest is FlushAge old or older; a failed write keeps
// them for the next try and is returned.
func (t *Tally) FlushDue(ctx context.Context) error {
	t.mu.Lock()
	due := !t.oldest.IsZero() && t.now().Sub(t.oldest) >= FlushAge
	t.mu.Unlock()
	if !due {
		return nil
	}
	return t.Flush(ctx)
}

// Flush writes every count: one AddUsage per token and hour. What fails to be written is kept
// for the next flush.
func (t *Tally) Flush(ctx context.Context) error {
	t.mu.Lock()
	counts, oldest := t.counts, t.oldest
	t.counts, t.oldest = map[usageKey]tokenstore.UsageCounts{}, time.Time{}
	t.mu.Unlock()
	var errs []error
	failed := map[usageKey]tokenstore.UsageCounts{}
	for k, c := range counts {
		err := t.store.AddUsage(ctx, k.env, k.tokenID, k.hour, c)
		t.mu.Lock()
		t.writes++
		t.mu.Unlock()
		if err != nil {
			failed[k] = c
			errs = append(errs, err)
		}
	}
	if len(failed) > 0 {
		t.mu.Lock()
		for k, c := range failed {
			sum := t.counts[k]
			sum.Add(c)
			t.counts[k] = sum
		}
		if t.oldest.IsZero() || oldest.Before(t.oldest) {
			t.oldest = oldest
		}
		t.mu.Unlock()
	}
	return errors.Join(errs...)
}
