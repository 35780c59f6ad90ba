// Package httpapi turns API Gateway HTTP API requests into identities and inputs, and outcomes
// into responses: JSON bodies, RFC 9457 problem details with a stable code, and one structured
// log line per request.
//
// Errors map to answers in one place (Problem): handlers return domain errors and never write a
// status code for them.
package httpapi
