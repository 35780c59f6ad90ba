package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// tokenView is a token as the API shows it. It has no field for key material by construction.
type tokenView struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Type          string  `json:"type"`
	Status        string  `json:"status"`
	UserID        string  `json:"userId"`
	EnvironmentID string  `json:"environmentId"`
	Hint          string  `json:"hint"`
	CreatedAt     string  `json:"createdAt"`
	UpdatedAt     string  `json:"updatedAt"`
	LastUsedAt    *string `json:"lastUsedAt"`
	ExpiresAt     *string `json:"expiresAt"`
	// PreviousKey is a rolled token's earlier key while its grace runs; null otherwise.
	PreviousKey *previousKeyView `json:"previousKey"`
	// Leak says where a secret scanner found the key; null unless it did.
	Leak *leakView `json:"leak"`
	// Permissions is null for full access; AllowedCIDRs null for anywhere.
	Permissions  []string `json:"permissions"`
	AllowedCIDRs []string `json:"allowedCidrs"`
	// RateLimit and Quota are null for none.
	RateLimit *policy.RateLimit `json:"rateLimit"`
	Quota     *policy.Quota     `json:"quota"`
	// Policy says whether the token is inside its environment's policy, where the answer read
	// the policy (get, list, create, edit, roll).
	Policy *policy.Compliance `json:"policy,omitempty"`
	// CallsLast24h is every call of the token's key in the current UTC hour and the 23 before
	// it, whatever their outcome; the list alone answers it.
	CallsLast24h *int64 `json:"callsLast24h,omitempty"`
}

type previousKeyView struct {
	Hint      string `json:"hint"`
	ExpiresAt string `json:"expiresAt"`
}

type leakView struct {
	URL        string `json:"url"`
	Source     string `json:"source"`
	ReportedAt string `json:"reportedAt"`
}

func viewOf(t tokenstore.Token, now time.Time) tokenView {
	return tokenView{
		ID: t.ID, Name: t.Name, Type: string(t.Type), Status: t.State(now),
		UserID: t.UserID, EnvironmentID: t.EnvironmentID, Hint: t.Hint,
		CreatedAt: apiTime(t.CreatedAt), UpdatedAt: apiTime(t.UpdatedAt),
		LastUsedAt: optTime(t.LastUsedAt), ExpiresAt: optTime(t.ExpiresAt),
		PreviousKey: previousOf(t, now), Leak: leakOf(t),
		Permissions: t.Permissions, AllowedCIDRs: t.AllowedCIDRs,
		RateLimit: t.RateLimit, Quota: t.Quota,
	}
}

// assessedViewOf is viewOf with whether the token is inside the policy pol.
func assessedViewOf(t tokenstore.Token, pol policy.Policy, now time.Time) tokenView {
	v := viewOf(t, now)
	c := pol.Assess(policyToken(t))
	v.Policy = &c
	return v
}

// policyToken is what the policy looks at in t.
func policyToken(t tokenstore.Token) policy.Token {
	return policy.Token{Agent: t.Agent(), Permissions: t.Permissions, AllowedCIDRs: t.AllowedCIDRs,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RateLimit: t.RateLimit}
}

// previousOf is the previous key as the API shows it: only while its grace runs at now.
func previousOf(t tokenstore.Token, now time.Time) *previousKeyView {
	if t.PreviousKey == nil || !now.Before(t.PreviousKey.ExpiresAt) {
		return nil
	}
	return &previousKeyView{Hint: t.PreviousKey.Hint, ExpiresAt: apiTime(t.PreviousKey.ExpiresAt)}
}

func leakOf(t tokenstore.Token) *leakView {
	if t.Leak == nil {
		return nil
	}
	return &leakView{URL: t.Leak.URL, Source: t.Leak.Source, ReportedAt: apiTime(t.Leak.ReportedAt)}
}

func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := apiTime(*t)
	return &s
}

// MaxNameLen is the longest token name, in characters.
const MaxNameLen = 100

var errInvalidName = httpapi.Errorf(http.StatusBadRequest, "invalid_name",
	"The name must be 1 to 100 characters after trimming, without control characters.")

// cleanName trims a name and checks it.
func cleanName(name *string) (string, error) {
	if name == nil {
		return "", errInvalidName
	}
	n := strings.TrimSpace(*name)
	if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxNameLen {
		return "", errInvalidName
	}
	for _, r := range n {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return "", errInvalidName
		}
	}
	return n, nil
}

var errInvalidID = httpapi.Errorf(http.StatusBadRequest, "invalid_token_id", "The token id is malformed.")

// tokenID reads the {id} path parameter.
func tokenID(req httpapi.Request) (string, error) {
	id := req.PathParameters["id"]
	if !ids.Valid(ids.Token, id) {
		return "", errInvalidID
	}
	return id, nil
}

// Paging limits.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// pageSize is the request's ?limit=; absent or empty is the default. Every query parameter
// reads "" as absent.
func pageSize(req httpapi.Request) (int, error) {
	s := req.QueryStringParameters["limit"]
	if s == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, httpapi.Errorf(http.StatusBadRequest, "invalid_limit", "limit must be a whole number from 1 to 100.")
	}
	return n, nil
}
