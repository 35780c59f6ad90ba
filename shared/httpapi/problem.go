package httpapi

import (
	"errors"
	"net/http"

	"github.com/apitokens/apitokens/shared/access"
	"github.com/apitokens/apitokens/shared/cursor"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Error is an outcome with its own HTTP answer: a status, a stable machine-readable code, and a
// detail safe to show the caller.
type Error struct {
	Status int
	Code   string
	Detail string
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// Errorf returns an Error; detail is shown to the caller, so it never holds internal text.
func Errorf(status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Detail: detail}
}

// Problem is an RFC 9457 problem details document with the service's stable code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// Answers to the domain errors of the other packages.
var (
	errTokenNotFound = Errorf(http.StatusNotFound, "token_not_found", "No token with this id.")
	errAdminRequired = Errorf(http.StatusForbidden, "admin_required", "Only an administrator of the environment may do this.")
	errOwnerOnly     = Errorf(http.StatusForbidden, "owner_only", "Only the token's owner may view its key.")
	errLimitReached  = Errorf(http.StatusConflict, "token_limit_reached", "The token limit is reached; delete a token first.")
	errExpired       = Errorf(http.StatusConflict, "token_expired", "The token has expired and cannot be activated.")
	errConflict      = Errorf(http.StatusConflict, "conflict", "The token was changed at the same time; try again.")
	errBadCursor     = Errorf(http.StatusBadRequest, "invalid_cursor", "The cursor is not valid for this request.")
	errIdemReused    = Errorf(http.StatusConflict, "idempotency_key_reused", "This Idempotency-Key was used with another body.")
	errIdemSpent     = Errorf(http.StatusConflict, "idempotency_key_reused", "The token this Idempotency-Key created has been deleted since; send a new key to create another.")
	errKeyLeaked     = Errorf(http.StatusConflict, "key_leaked", "The key was reported leaked; roll the key before activating the token.")
	errInternal      = Errorf(http.StatusInternalServerError, "internal_error", "Something went wrong on our side; try again later.")
)

// ProblemFor maps an error to its public answer. An error it does not know is a 500 whose text
// stays out of the answer.
func ProblemFor(err error) Problem {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, tokenstore.ErrNotFound), errors.Is(err, access.ErrNotFound):
		e = errTokenNotFound
	case errors.Is(err, access.ErrAdminRequired):
		e = errAdminRequired
	case errors.Is(err, access.ErrOwnerOnly):
		e = errOwnerOnly
	case errors.Is(err, tokenstore.ErrLimitReached):
		e = errLimitReached
	case errors.Is(err, tokenstore.ErrExpired):
		e = errExpired
	case errors.Is(err, tokenstore.ErrKeyLeaked):
		e = errKeyLeaked
	case errors.Is(err, tokenstore.ErrConflict):
		e = errConflict
	case errors.Is(err, tokenstore.ErrBadCursor), errors.Is(err, cursor.ErrInvalid):
		e = errBadCursor
	case errors.Is(err, tokenstore.ErrIdempotencyMismatch):
		e = errIdemReused
	case errors.Is(err, tokenstore.ErrIdempotentTokenDeleted):
		e = errIdemSpent
	default:
		e = errInternal
	}
	return Problem{Type: "about:blank", Title: http.StatusText(e.Status), Status: e.Status, Code: e.Code, Detail: e.Detail}
}
