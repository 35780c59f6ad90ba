// Package fault is the error type that carries its own HTTP answer: a status, a stable
// machine-readable code, and a detail safe to show the caller. A domain package defines its
// errors with it where they are defined, so the HTTP layer answers them without importing the
// domain; errors.Is still compares them by identity.
package fault
