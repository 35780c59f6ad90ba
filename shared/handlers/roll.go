package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/apitokens/apitokens/shared/access"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

type rollRequest struct {
	// GracePeriodSeconds is read as any JSON number and must be whole: 86400.0 is the integer
	// 86400 to JSON Schema, and so to openapi.yaml.
	GracePeriodSeconds *float64 `json:"gracePeriodSeconds"`
}

// rollCanonical is a roll request as an Idempotency-Key remembers it: the token and the grace.
type rollCanonical struct {
	Roll               string `json:"roll"`
	GracePeriodSeconds int64  `json:"gracePeriodSeconds"`
}

type rolledView struct {
	tokenView
	Key string `json:"key"`
}

var errInvalidGrace = httpapi.Errorf(http.StatusBadRequest, "invalid_grace_period",
	"gracePeriodSeconds must be a whole number from 0 to 604800 (7 days).")

// RollToken is POST /v1/tokens/{id}/roll: a new key for the same token, answered once, to its
// owner only. The previous key keeps working for gracePeriodSeconds (default 0: it stops at
// once); a key reported leaked gets no grace. With an Idempotency-Key, a repeat of the same
// request within 24 hours answers the token as it is, with its current key, and rolls nothing.
func RollToken(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("roll", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		idemKey, err := httpapi.IdempotencyKey(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		grace, err := rollGrace(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		p, t, err := load(ctx, d, req, access.Roll)
		if err != nil {
			return httpapi.Response{}, err
		}
		// A new key for a token outside the policy would start it anew: it must comply first.
		pol, err := d.Store.Policy(ctx, p.EnvironmentID)
		if err != nil {
			return httpapi.Response{}, err
		}
		if c := pol.Assess(policyToken(t)); !c.Compliant {
			return httpapi.Response{}, policy.Violation(*c.Reason)
		}
		next, key, err := newKey(ctx, d, t)
		if err != nil {
			return httpapi.Response{}, err
		}
		who := actor(req, p.UserID)
		if idemKey == "" {
			rolled, err := d.Store.Roll(ctx, t, next, grace, who)
			if err != nil {
				return httpapi.Response{}, err
			}
			return rolledAnswer(rolled, key, d.Now()), nil
		}
		return rollIdempotent(ctx, d, who, t, next, key, grace, idemKey)
	})
}

// rollIdempotent rolls t to next under an Idempotency-Key. A repeat of the same request answers
// the token as the first one left it instead.
func rollIdempotent(ctx context.Context, d *service.Deps, who tokenstore.Actor, t tokenstore.Token, next tokenstore.NewKey, key string, grace time.Duration, idemKey string) (httpapi.Response, error) {
	canonical, err := json.Marshal(rollCanonical{Roll: t.ID, GracePeriodSeconds: int64(grace / time.Second)})
	if err != nil {
		return httpapi.Response{}, fmt.Errorf("roll token: %w", err)
	}
	rolled, replayed, err := d.Store.RollIdempotent(ctx, t, next, grace, who,
		tokenstore.Idempotency{Key: idemKey, Request: canonical})
	if err != nil {
		return httpapi.Response{}, err
	}
	if !replayed {
		return rolledAnswer(rolled, key, d.Now()), nil
	}
	// As create's replay: the owner gets the token's key back from its ciphertext, which leaves
	// a reveal record. The key made for this request was never stored.
	if key, err = openKey(ctx, d.Keys, rolled); err != nil {
		return httpapi.Response{}, err
	}
	if err := d.Store.RecordAudit(ctx, rolled, tokenstore.ActionReveal, who); err != nil {
		return httpapi.Response{}, err
	}
	resp := rolledAnswer(rolled, key, d.Now())
	resp.Headers["idempotent-replayed"] = "true"
	return resp, nil
}

// rollGrace reads the grace a roll request asks for; no body, or no field, is none.
func rollGrace(req httpapi.Request) (time.Duration, error) {
	var in rollRequest
	if req.Body != "" {
		if err := httpapi.DecodeJSON(req, httpapi.MaxBody, &in); err != nil {
			return 0, err
		}
	}
	if in.GracePeriodSeconds == nil {
		return 0, nil
	}
	s := *in.GracePeriodSeconds
	if s != math.Trunc(s) || s < 0 || s > float64(tokenstore.MaxGrace/time.Second) {
		return 0, errInvalidGrace
	}
	return time.Duration(s) * time.Second, nil
}

func rolledAnswer(t tokenstore.Token, key string, now time.Time) httpapi.Response {
	return httpapi.JSON(http.StatusOK, rolledView{tokenView: viewOf(t, now), Key: key}, noStore...)
}

// RevokePreviousKey is POST /v1/tokens/{id}/previous-key/revoke: end a rolled token's grace now,
// for its owner or an admin of its environment. Without a grace running it changes nothing.
func RevokePreviousKey(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("revokeprevious", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, t, err := load(ctx, d, req, access.RevokePreviousKey)
		if err != nil {
			return httpapi.Response{}, err
		}
		if t, err = d.Store.RevokePreviousKey(ctx, t, actor(req, p.UserID)); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, viewOf(t, d.Now())), nil
	})
}
