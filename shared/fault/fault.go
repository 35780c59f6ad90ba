package fault

import "net/http"

// Error is an outcome with its own HTTP answer. Detail is shown to the caller, so it never holds
// internal text; the error's own text (what logs show) may say more.
type Error struct {
	Status int
	Code   string
	Detail string
	text   string
}

// New returns an Error whose text is code and detail.
func New(status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Detail: detail}
}

// Domain returns an Error with its own text for logs, as a domain package names its errors.
func Domain(text string, status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Detail: detail, text: text}
}

func (e *Error) Error() string {
	if e.text != "" {
		return e.text
	}
	return e.Code + ": " + e.Detail
}

// Internal is the answer to every error that carries none, and to every 5xx: its detail is fixed,
// so no internal text reaches a caller.
var Internal = New(http.StatusInternalServerError, "internal_error", "Something went wrong on our side; try again later.")
