package httpapi

import (
	"errors"
	"net/http"

	"github.com/apitokens/apitokens/shared/fault"
)

// Error is an outcome with its own HTTP answer: a status, a stable machine-readable code, and a
// detail safe to show the caller. Domain packages define their errors with it too.
type Error = fault.Error

// Errorf returns an Error; detail is shown to the caller, so it never holds internal text.
func Errorf(status int, code, detail string) *Error {
	return fault.New(status, code, detail)
}

// Problem is an RFC 9457 problem details document with the service's stable code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// ProblemFor maps an error to its public answer: the answer the error carries, found through
// any wrapping. An error that carries none, and every 5xx, is the fixed internal answer, so the
// error's text stays out of it.
func ProblemFor(err error) Problem {
	e := fault.Internal
	var f *fault.Error
	if errors.As(err, &f) && f.Status < http.StatusInternalServerError {
		e = f
	}
	return Problem{Type: "about:blank", Title: http.StatusText(e.Status), Status: e.Status, Code: e.Code, Detail: e.Detail}
}
