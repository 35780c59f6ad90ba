package meter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/apitokens/apitokens/shared/fault"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Store is the part of the table model the meter uses.
type Store interface {
	Claim(ctx context.Context, c tokenstore.Counter, limit, want int64) (granted, claimed int64, err error)
	Release(ctx context.Context, c tokenstore.Counter, n int64) error
	UsageStore
}

// Problems of a call over a limit.
var (
	errRateLimited   = fault.New(http.StatusTooManyRequests, "rate_limited", "The key's rate limit is reached; retry after the time Retry-After gives.")
	errQuotaExceeded = fault.New(http.StatusTooManyRequests, "quota_exhausted", "The key's monthly quota is used up; it renews at the start of the next month (UTC).")
)

// Outcome is what the meter decided on a call.
type Outcome int

// Outcomes.
const (
	Allowed Outcome = iota
	RateLimited
	QuotaExhausted
)

// Meter decides on the calls of one function instance. It is safe for concurrent use; calls
// of one instance are decided one at a time, as Lambda runs them.
type Meter struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
	usage *Tally

	mu     sync.Mutex
	leases map[string]*lease // by token id and "rate" or "quota"
	writes int64             // claims made, for tests and the bench
}

// New returns a Meter over store, its clock now (time.Now in a function), logging to log.
func New(store Store, now func() time.Time, log *slog.Logger) *Meter {
	return &Meter{store: store, now: now, log: log, usage: NewTally(store, now), leases: map[string]*lease{}}
}

// Writes is how many claims (DynamoDB writes) the meter has made.
func (m *Meter) Writes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// Usage is the meter's tally of calls by outcome.
func (m *Meter) Usage() *Tally { return m.usage }

// Decision is the meter's answer on one call: its outcome and the fields every answer to a
// metered key carries.
type Decision struct {
	Outcome Outcome
	// Headers holds RateLimit-Policy and RateLimit, and Retry-After when the call is refused;
	// nil for a key without limits.
	Headers map[string]string
}

// Decide takes one call of the key's allowances: the rate limit's window first, then the
// quota's month (a call refused by its quota gives its unit of the window back; a call refused by
// its rate limit never touches the quota). A key without limits is allowed with no write.
func (m *Meter) Decide(ctx context.Context, l Limits) (Decision, error) {
	if !l.Metered() {
		return Decision{Outcome: Allowed}, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var rate, quota *lease
	if q := l.Quota; q != nil {
		start := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
		quota = m.lease(l.TokenID, "quota")
		quota.renew(tokenstore.MonthCounter(l.EnvironmentID, l.TokenID, now), int64(q.RequestsPerMonth), start.AddDate(0, 1, 0))
	}
	if r := l.RateLimit; r != nil {
		window := time.Duration(r.WindowSeconds) * time.Second
		start := time.Unix(now.Unix()/int64(r.WindowSeconds)*int64(r.WindowSeconds), 0).UTC()
		rate = m.lease(l.TokenID, "rate")
		rate.renew(tokenstore.WindowCounter(l.EnvironmentID, l.TokenID, r.WindowSeconds, start), int64(r.Requests), start.Add(window))
	}
	outcome, err := m.take(ctx, rate, quota)
	if err != nil {
		return Decision{}, fmt.Errorf("meter token %s: %w", l.TokenID, err)
	}
	return Decision{Outcome: outcome, Headers: headers(l, rate, quota, outcome, now)}, nil
}

// take spends one call of each lease there is, or none.
func (m *Meter) take(ctx context.Context, rate, quota *lease) (Outcome, error) {
	if rate != nil {
		ok, w, err := rate.take(ctx, m.store)
		m.writes += int64(w)
		if err != nil {
			return 0, err
		}
		if !ok {
			return RateLimited, nil
		}
	}
	if quota != nil {
		ok, w, err := quota.take(ctx, m.store)
		m.writes += int64(w)
		if err != nil || !ok {
			if rate != nil {
				rate.giveBack()
			}
			return QuotaExhausted, err
		}
	}
	return Allowed, nil
}

// Release gives back what the instance holds unspent of every allowance whose period has not
// ended, one write each: an instance that is shutting down must not strand a month's quota
// (or the rest of a window) with it.
func (m *Meter) Release(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var errs []error
	for _, l := range m.leases {
		if l.left > 0 && now.Before(l.end) {
			if err := m.store.Release(ctx, l.counter, l.left); err != nil {
				errs = append(errs, err)
				continue
			}
			m.writes++
			l.claimed -= l.left
			l.left = 0
		}
	}
	return errors.Join(errs...)
}

// lease returns the instance's lease of a token's allowance, making it. Leases of periods
// that ended are dropped once there are many.
func (m *Meter) lease(tokenID, kind string) *lease {
	k := tokenID + "#" + kind
	if l, ok := m.leases[k]; ok {
		return l
	}
	if len(m.leases) >= maxLeases {
		now := m.now()
		for k, l := range m.leases {
			if !now.Before(l.end) {
				delete(m.leases, k)
			}
		}
	}
	l := &lease{}
	m.leases[k] = l
	return l
}

// maxLeases bounds the leases kept before ended ones are dropped.
const maxLeases = 10_000

// Policy names in the RateLimit-Policy and RateLimit fields.
const (
	policyRate  = `"rate"`
	policyQuota = `"quota"`
)

// headers are the fields of draft-ietf-httpapi-ratelimit-headers (revision 10, the syntax of
// every revision since 08: https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/)
// for a metered key: RateLimit-Policy, a List of the key's quota policies, each a String name
// with q (its quota) and w (its window in seconds; a month's length in seconds for the quota);
// RateLimit, the same policies with r (what remains, as far as this instance can tell) and t
// (seconds until the window or month ends). A refused call also gets Retry-After (RFC 9110
// 10.2.3), the seconds until the limit it hit allows again.
func headers(l Limits, rate, quota *lease, outcome Outcome, now time.Time) map[string]string {
	var pol, cur string
	add := func(name string, le *lease, window int64) {
		if pol != "" {
			pol, cur = pol+", ", cur+", "
		}
		pol += name + ";q=" + strconv.FormatInt(le.limit, 10) + ";w=" + strconv.FormatInt(window, 10)
		cur += name + ";r=" + strconv.FormatInt(le.remaining(), 10) + ";t=" + strconv.FormatInt(secondsUntil(now, le.end), 10)
	}
	if rate != nil {
		add(policyRate, rate, int64(l.RateLimit.WindowSeconds))
	}
	if quota != nil {
		start := quota.end.AddDate(0, -1, 0)
		add(policyQuota, quota, int64(quota.end.Sub(start)/time.Second))
	}
	h := map[string]string{"ratelimit-policy": pol, "ratelimit": cur}
	switch outcome {
	case RateLimited:
		h["retry-after"] = strconv.FormatInt(secondsUntil(now, rate.end), 10)
	case QuotaExhausted:
		h["retry-after"] = strconv.FormatInt(secondsUntil(now, quota.end), 10)
	}
	return h
}

// secondsUntil is the whole seconds from now until end, rounded up, at least 1 (a client told 0
// would retry at once, into the same window).
func secondsUntil(now, end time.Time) int64 {
	return max(int64(math.Ceil(end.Sub(now).Seconds())), 1)
}

// Wrap meters a key-guarded route: it reads the key's limits from the authorizer's context,
// answers a call over a limit 429 (rate_limited or quota_exhausted) with Retry-After without
// running h, adds the RateLimit fields to every answer of a metered key, and counts each call
// by outcome for the token's usage, writing the counts when the oldest is a minute old.
func (m *Meter) Wrap(h httpapi.Handler) httpapi.Handler {
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		l, ok, err := LimitsOf(req)
		if err != nil {
			return httpapi.ProblemResponse(err), nil
		}
		if !ok {
			return h(ctx, req) // no key: the route refuses the call itself
		}
		d, err := m.Decide(ctx, l)
		if err != nil {
			// Fails closed, as the key authorizer does: no call goes uncounted.
			m.log.LogAttrs(ctx, slog.LevelError, "meter", slog.String("route", req.RouteKey),
				slog.String("tokenId", l.TokenID), slog.String("err", err.Error()))
			return httpapi.ProblemResponse(err), nil
		}
		var resp httpapi.Response
		switch d.Outcome {
		case Allowed:
			if resp, err = h(ctx, req); err != nil {
				return resp, err
			}
		case RateLimited:
			resp = httpapi.ProblemResponse(errRateLimited)
		case QuotaExhausted:
			resp = httpapi.ProblemResponse(errQuotaExceeded)
		}
		if d.Outcome != Allowed {
			m.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("requestId", req.RequestContext.RequestID),
				slog.String("route", req.RouteKey), slog.Int("status", resp.StatusCode), slog.String("tokenId", l.TokenID))
		}
		for k, v := range d.Headers {
			if resp.Headers == nil {
				resp.Headers = map[string]string{}
			}
			resp.Headers[k] = v
		}
		m.usage.Add(l.EnvironmentID, l.TokenID, m.now(), countOf(d.Outcome))
		if err := m.usage.FlushDue(ctx); err != nil {
			// Kept for the next flush; the call's answer does not depend on it.
			m.log.LogAttrs(ctx, slog.LevelWarn, "usage", slog.String("err", err.Error()))
		}
		return resp, nil
	}
}

func countOf(o Outcome) tokenstore.UsageCounts {
	switch o {
	case RateLimited:
		return tokenstore.UsageCounts{RateLimited: 1}
	case QuotaExhausted:
		return tokenstore.UsageCounts{QuotaExhausted: 1}
	}
	return tokenstore.UsageCounts{Allowed: 1}
}
