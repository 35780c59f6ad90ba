package policy

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/apitokens/apitokens/shared/fault"
)

// MaxRequests bounds a rate limit's requests and a quota's requests per month.
const MaxRequests = 1_000_000_000

// MaxWindowSeconds is the longest window a rate limit may count over (an hour).
const MaxWindowSeconds = 3600

// ErrInvalidQuota refuses a quota that is not null or {requestsPerMonth ≥ 1}.
var ErrInvalidQuota = fault.Domain("invalid quota", http.StatusBadRequest, "invalid_quota",
	`A quota must be null or {"requestsPerMonth":n} with n a whole number from 1 to 1000000000.`)

// errInvalidTokenRateLimit refuses a token's rate limit; unlike ErrInvalidRateLimit it says
// nothing of a policy's default and maximum.
var errInvalidTokenRateLimit = fault.Domain("invalid rate limit", http.StatusBadRequest, "invalid_rate_limit",
	`A rate limit must be null or {"requests":n,"windowSeconds":s} with requests a whole number from 1 to 1000000000 and windowSeconds from 1 to 3600.`)

// Quota is a number of requests per calendar month (UTC).
type Quota struct {
	RequestsPerMonth int `json:"requestsPerMonth"`
}

// String is l as an audit record and a refusal show it: "30/60s".
func (l RateLimit) String() string {
	return strconv.Itoa(l.Requests) + "/" + strconv.Itoa(l.WindowSeconds) + "s"
}

// String is q as an audit record shows it.
func (q Quota) String() string { return strconv.Itoa(q.RequestsPerMonth) + "/month" }

// ParseRateLimit reads a token's rateLimit as a request sends it: null is no limit (nil);
// anything else must be an object with exactly requests (1 to MaxRequests) and windowSeconds (1
// to MaxWindowSeconds), whole numbers (30.0 is 30, as JSON Schema reads it).
func ParseRateLimit(raw json.RawMessage) (*RateLimit, error) {
	if isNull(raw) {
		return nil, nil
	}
	var in struct {
		Requests      *float64 `json:"requests"`
		WindowSeconds *float64 `json:"windowSeconds"`
	}
	if !strictObject(raw, &in, "requests", "windowSeconds") || in.Requests == nil || in.WindowSeconds == nil {
		return nil, errInvalidTokenRateLimit
	}
	req, ok1 := wholeIn(*in.Requests, 1, MaxRequests)
	win, ok2 := wholeIn(*in.WindowSeconds, 1, MaxWindowSeconds)
	if !ok1 || !ok2 {
		return nil, errInvalidTokenRateLimit
	}
	return &RateLimit{Requests: req, WindowSeconds: win}, nil
}

// ParseQuota reads a token's quota as a request sends it: null is no quota (nil); anything else
// must be an object with exactly requestsPerMonth, a whole number from 1 to MaxRequests.
func ParseQuota(raw json.RawMessage) (*Quota, error) {
	if isNull(raw) {
		return nil, nil
	}
	var in struct {
		RequestsPerMonth *float64 `json:"requestsPerMonth"`
	}
	if !strictObject(raw, &in, "requestsPerMonth") || in.RequestsPerMonth == nil {
		return nil, ErrInvalidQuota
	}
	n, ok := wholeIn(*in.RequestsPerMonth, 1, MaxRequests)
	if !ok {
		return nil, ErrInvalidQuota
	}
	return &Quota{RequestsPerMonth: n}, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// strictObject decodes raw, a JSON object holding only the named fields (each at most once),
// into dst.
func strictObject(raw json.RawMessage, dst any, fields ...string) bool {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil || len(obj) > len(fields) {
		return false
	}
	for k := range obj {
		known := false
		for _, f := range fields {
			known = known || k == f
		}
		if !known {
			return false
		}
	}
	// A repeated field would be read once by the map and twice by the struct: refuse it.
	dec := json.NewDecoder(bytes.NewReader(raw))
	if n, ok := countKeys(dec); !ok || n != len(obj) {
		return false
	}
	return json.Unmarshal(raw, dst) == nil
}

// countKeys counts the top-level keys of the object dec reads.
func countKeys(dec *json.Decoder) (int, bool) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, false
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return 0, false
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0, false
		}
		n++
	}
	return n, true
}

// wholeIn is n as an int when it is a whole number from lo to hi.
func wholeIn(n float64, lo, hi int) (int, bool) {
	if n != math.Trunc(n) || n < float64(lo) || n > float64(hi) {
		return 0, false
	}
	return int(n), true
}

// RateLimitFor is the rate limit a new token gets when its request sends none: the policy's
// default, or, without one, its maximum (so that a token made without a limit is inside the
// policy); nil when the policy sets neither.
func (p Policy) RateLimitFor() *RateLimit {
	if p.DefaultRateLimit != nil {
		l := *p.DefaultRateLimit
		return &l
	}
	if p.MaxRateLimit != nil {
		l := *p.MaxRateLimit
		return &l
	}
	return nil
}

// RateLimits returns the rule a token with rate limit l (nil for none) breaks, "" for none: a
// limit that allows more requests per second than the policy's maximum, or no limit under one.
func (p Policy) RateLimits(l *RateLimit) string {
	if p.MaxRateLimit == nil || !l.exceeds(p.MaxRateLimit) {
		return ""
	}
	return "maxRateLimit: tokens of this environment may be allowed at most " + p.MaxRateLimit.String() +
		" (requests per window, compared as requests per second)"
}
