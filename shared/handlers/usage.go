package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/apitokens/apitokens/shared/access"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// granularity is the length of a usage answer's items: its name in the API, its step, the
// longest span one answer may cover, and the items a request without from answers.
type granularity struct {
	name         string
	step         time.Duration
	maxSpan      time.Duration
	defaultItems int
}

// The granularities of GET /v1/tokens/{id}/usage. Days are UTC days: UTC has no daylight
// saving, so every day is 24 hours and time.Truncate finds its midnight.
var (
	byHour = granularity{name: "hour", step: time.Hour, maxSpan: 31 * 24 * time.Hour, defaultItems: 24}
	byDay  = granularity{name: "day", step: 24 * time.Hour, maxSpan: 400 * 24 * time.Hour, defaultItems: 30}
)

var (
	errInvalidGranularity = httpapi.Errorf(http.StatusBadRequest, "invalid_granularity", `granularity must be "hour" or "day".`)
	errInvalidRange       = httpapi.Errorf(http.StatusBadRequest, "invalid_range",
		"from and to must be RFC 3339 times between 1970 and 9999, from before to, at most 31 days apart by hour or 400 days by day.")
)

// The earliest and latest times a usage range may reach: the Unix epoch, and the end of the
// last day that the table's four-digit years hold.
var (
	firstUsageTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	lastUsageTime  = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// usageQuery is a usage request as understood: the items from from (included) to to (excluded),
// both on the granularity's boundaries in UTC.
type usageQuery struct {
	gran     granularity
	from, to time.Time
}

// items is the number of items the query answers.
func (q usageQuery) items() int { return int(q.to.Sub(q.from) / q.gran.step) }

// parseUsageQuery reads ?granularity=&from=&to= at now. from is rounded down and to up to the
// granularity, so that every hour or day the range touches is an item. Without to, the range ends
// with the current hour or day; without from, it starts defaultItems before its end. An empty
// parameter is the same as none, as the list's are.
func parseUsageQuery(params map[string]string, now time.Time) (usageQuery, error) {
	var q usageQuery
	switch params["granularity"] {
	case "", "hour":
		q.gran = byHour
	case "day":
		q.gran = byDay
	default:
		return usageQuery{}, errInvalidGranularity
	}
	step := q.gran.step
	q.to = now.UTC().Truncate(step).Add(step)
	if s := params["to"]; s != "" {
		to, valid := parseRFC3339(s)
		if !valid {
			return usageQuery{}, errInvalidRange
		}
		q.to = to.UTC().Truncate(step)
		if q.to.Before(to) {
			q.to = q.to.Add(step)
		}
	}
	q.from = q.to.Add(-time.Duration(q.gran.defaultItems) * step)
	if s := params["from"]; s != "" {
		from, valid := parseRFC3339(s)
		if !valid {
			return usageQuery{}, errInvalidRange
		}
		q.from = from.UTC().Truncate(step)
	}
	if !q.from.Before(q.to) || q.to.Sub(q.from) > q.gran.maxSpan || q.from.Before(firstUsageTime) || q.to.After(lastUsageTime) {
		return usageQuery{}, errInvalidRange
	}
	return q, nil
}

type usageItemView struct {
	Start          string `json:"start"`
	Allowed        int64  `json:"allowed"`
	RateLimited    int64  `json:"rateLimited"`
	QuotaExhausted int64  `json:"quotaExhausted"`
	Refused        int64  `json:"refused"`
}

type usageQuotaView struct {
	RequestsPerMonth int64 `json:"requestsPerMonth"`
	Used             int64 `json:"used"`
}

type usageView struct {
	Granularity string          `json:"granularity"`
	Items       []usageItemView `json:"items"`
	Quota       *usageQuotaView `json:"quota"`
}

// TokenUsage is GET /v1/tokens/{id}/usage: a token's calls by outcome, an item for every hour or
// UTC day of the range (zeros included, so that a chart has no gaps), and its monthly quota with
// what this month has used of it, for its owner and the environment's admins.
func TokenUsage(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("usage", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		now := d.Now().UTC()
		q, err := parseUsageQuery(req.QueryStringParameters, now)
		if err != nil {
			return httpapi.Response{}, err
		}
		_, t, err := load(ctx, d, req, access.Read)
		if err != nil {
			return httpapi.Response{}, err
		}
		limit, hasQuota := quotaOf(t)
		// One read covers the range and, for a quota, this month up to now.
		from, last := q.from, q.to.Add(-time.Hour)
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		if hasQuota {
			from, last = earlier(from, month), later(last, now)
		}
		hours, err := d.Store.Usage(ctx, t.EnvironmentID, t.ID, from, last)
		if err != nil {
			return httpapi.Response{}, err
		}
		out := usageView{Granularity: q.gran.name, Items: usageItems(q, hours)}
		if hasQuota {
			out.Quota = &usageQuotaView{RequestsPerMonth: limit, Used: allowedSince(hours, month)}
		}
		return httpapi.JSON(http.StatusOK, out), nil
	})
}

// quotaOf is t's monthly quota in requests per calendar month (UTC); ok is false when t has none.
func quotaOf(t tokenstore.Token) (requestsPerMonth int64, ok bool) {
	if t.Quota == nil {
		return 0, false
	}
	return int64(t.Quota.RequestsPerMonth), true
}

// usageItems sums hours into the query's items, one for every step of its range.
func usageItems(q usageQuery, hours []tokenstore.UsageHour) []usageItemView {
	sums := make([]tokenstore.UsageCounts, q.items())
	for _, h := range hours {
		if h.Hour.Before(q.from) || !h.Hour.Before(q.to) {
			continue // read for the quota only
		}
		sums[h.Hour.Sub(q.from)/q.gran.step].Add(h.UsageCounts)
	}
	out := make([]usageItemView, len(sums))
	for i, c := range sums {
		out[i] = usageItemView{
			Start:   apiTime(q.from.Add(time.Duration(i) * q.gran.step)),
			Allowed: c.Allowed, RateLimited: c.RateLimited, QuotaExhausted: c.QuotaExhausted, Refused: c.Refused,
		}
	}
	return out
}

// allowedSince sums the allowed calls of the hours from since on: what a quota counts.
func allowedSince(hours []tokenstore.UsageHour, since time.Time) int64 {
	var n int64
	for _, h := range hours {
		if !h.Hour.Before(since) {
			n += h.Allowed
		}
	}
	return n
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// callsLast24h reads the calls of the environment's tokens in the current UTC hour and the 23
// before it: one Query for a list page, whatever its number of tokens, and none for an empty one.
func callsLast24h(ctx context.Context, d *service.Deps, env string, page []tokenstore.Token, now time.Time) (map[string]tokenstore.UsageCounts, error) {
	if len(page) == 0 {
		return nil, nil
	}
	last := now.UTC().Truncate(time.Hour)
	return d.Store.EnvironmentUsage(ctx, env, last.Add(-23*time.Hour), last)
}
