package handlers

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/leakreport"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Verifier checks a report's signature over its raw body.
type Verifier interface {
	Verify(ctx context.Context, keyID, signature string, body []byte) error
}

// ScannerActor is the actor of the audit records a secret scanning report leaves.
const ScannerActor = "github-secret-scanning"

// TokenType is the token type name this service enrols with GitHub's secret scanning partner
// program; the feedback names it.
const TokenType = "apitokens_api_key"

var (
	errNotSigned       = httpapi.Errorf(http.StatusUnauthorized, "signature_missing", "Github-Public-Key-Identifier and Github-Public-Key-Signature are required.")
	errUnknownKey      = httpapi.Errorf(http.StatusUnauthorized, "unknown_signing_key", "The report is signed with a key that is not published.")
	errBadSignature    = httpapi.Errorf(http.StatusUnauthorized, "invalid_signature", "The signature does not verify over the body.")
	errInvalidReport   = httpapi.Errorf(http.StatusBadRequest, "invalid_report", "The body must be a JSON array of {token, type, url, source}.")
	errTooManyItems    = httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_many_items", fmt.Sprintf("A report holds at most %d items.", leakreport.MaxItems))
	errReportTooLarge  = httpapi.Errorf(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("The body is larger than %d bytes.", leakreport.MaxBody))
	errReportMediaType = httpapi.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
)

// ReportLeaks is POST /v1/secret-scanning/github, the endpoint of GitHub's secret scanning
// partner program. A report whose signature verifies (v) names strings GitHub found in public;
// each that is one of our keys stops working: its token becomes inactive with the leak recorded,
// until its owner rolls the key. The answer is GitHub's feedback array, one label per item. A
// report that is not signed, not verified, or not that shape changes nothing.
func ReportLeaks(d *service.Deps, v Verifier) httpapi.Handler {
	return httpapi.Handle("reportleak", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		items, err := verifiedReport(ctx, v, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		who := actor(req, ScannerActor)
		labels := make(map[string]string, len(items))
		out := make([]leakreport.Feedback, 0, len(items))
		for _, it := range items {
			label, ok := labels[it.Token]
			if !ok {
				if label, err = revokeLeaked(ctx, d, it, who); err != nil {
					return httpapi.Response{}, err
				}
				labels[it.Token] = label
			}
			out = append(out, leakreport.Feedback{TokenRaw: it.Token, TokenType: TokenType, Label: label})
		}
		return httpapi.JSON(http.StatusOK, out, noStore...), nil
	})
}

// verifiedReport reads the report's items once its signature verifies over the raw body.
func verifiedReport(ctx context.Context, v Verifier, req httpapi.Request) ([]leakreport.Item, error) {
	body, err := httpapi.Body(req, leakreport.MaxBody)
	if err != nil {
		var e *httpapi.Error
		if errors.As(err, &e) && e.Status == http.StatusRequestEntityTooLarge {
			return nil, errReportTooLarge
		}
		return nil, err
	}
	err = v.Verify(ctx, httpapi.Header(req, "github-public-key-identifier"), httpapi.Header(req, "github-public-key-signature"), body)
	switch {
	case errors.Is(err, leakreport.ErrNoSignature):
		return nil, errNotSigned
	case errors.Is(err, leakreport.ErrUnknownKey):
		return nil, errUnknownKey
	case errors.Is(err, leakreport.ErrBadSignature):
		return nil, errBadSignature
	case err != nil:
		return nil, err
	}
	if ct := httpapi.Header(req, "content-type"); ct != "" && !jsonMediaType(ct) {
		return nil, errReportMediaType
	}
	items, err := leakreport.Parse(body)
	switch {
	case errors.Is(err, leakreport.ErrTooManyItems):
		return nil, errTooManyItems
	case err != nil:
		return nil, errInvalidReport
	}
	return items, nil
}

// revokeLeaked marks the token of a reported key leaked and labels the item. A string that is
// not a well-formed key costs no lookup, an unknown key one, as in the key authorizer.
func revokeLeaked(ctx context.Context, d *service.Deps, it leakreport.Item, who tokenstore.Actor) (string, error) {
	if d.Format.Parse(it.Token) != nil {
		return leakreport.FalsePositive, nil
	}
	rec, found, err := findKey(ctx, d, it.Token)
	if err != nil || !found {
		return leakreport.FalsePositive, err
	}
	if rec.GraceEndsAt != nil && !d.Now().Before(*rec.GraceEndsAt) {
		return leakreport.TruePositive, nil // a previous key whose grace is over works no more
	}
	leak := tokenstore.Leak{URL: truncate(it.URL, 2048), Source: truncate(it.Source, 64)}
	for attempt := 0; ; attempt++ {
		t, err := d.Store.Get(ctx, rec.EnvironmentID, rec.TokenID)
		if errors.Is(err, tokenstore.ErrNotFound) {
			return leakreport.FalsePositive, nil // deleted meanwhile: nothing left to revoke
		}
		if err != nil {
			return "", err
		}
		marked, changed, err := d.Store.MarkLeaked(ctx, t, leak, who)
		if errors.Is(err, tokenstore.ErrConflict) && attempt == 0 {
			continue // changed between the read and the write: read it again, once
		}
		if err != nil {
			return "", err
		}
		if changed {
			_ = keyEvent(ctx, d, eventqueue.KeyLeaked, "", marked)
		}
		return leakreport.TruePositive, nil
	}
}

// findKey finds the lookup item of key as the key authorizer does: one GetItem by the key's
// hash, then its HMAC under the ring version the token was made with, in constant time.
func findKey(ctx context.Context, d *service.Deps, key string) (tokenstore.KeyRecord, bool, error) {
	hash := apikey.Hash(key)
	rec, err := d.Store.LookupKey(ctx, hash[:])
	if errors.Is(err, tokenstore.ErrNotFound) {
		return tokenstore.KeyRecord{}, false, nil
	}
	if err != nil {
		return tokenstore.KeyRecord{}, false, err
	}
	v, err := d.Keys.Version(ctx, rec.KeyVersion)
	if err != nil {
		return tokenstore.KeyRecord{}, false, fmt.Errorf("check reported key of token %s: %w", rec.TokenID, err)
	}
	return rec, hmac.Equal(rec.KeyMAC, v.MAC(key)), nil
}

func jsonMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
