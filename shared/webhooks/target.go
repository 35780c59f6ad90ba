package webhooks

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
)

// Targets is which target URLs a deployment accepts.
type Targets string

const (
	// Public is the deployed stack's rule: https only, to an address on the public internet.
	Public Targets = "public"
	// Loopback is the local run's: http or https, to this machine only (127.0.0.0/8, ::1 or
	// localhost).
	Loopback Targets = "loopback"
)

// MaxTargetURL is the longest target URL accepted.
const MaxTargetURL = 2048

// ErrTarget refuses a target URL; its text says why and holds no part of the URL.
var ErrTarget = errors.New("target URL refused")

// ParseTargets reads a Targets setting; "" is Public.
func ParseTargets(s string) (Targets, error) {
	switch Targets(s) {
	case "", Public:
		return Public, nil
	case Loopback:
		return Loopback, nil
	}
	return "", errors.New(`WEBHOOK_TARGETS must be "public" or "loopback"`)
}

// Check reads a subscription's target URL under t's rule: an absolute URL without user
// information or fragment, https (or, for Loopback, http), whose host is a name or an address
// the rule allows. A name is resolved again, and every address checked, at each send (Guard).
func (t Targets) Check(raw string) (*url.URL, error) {
	if len(raw) > MaxTargetURL || strings.ContainsAny(raw, " \t\r\n") {
		return nil, ErrTarget
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.User != nil || u.Fragment != "" || u.Hostname() == "" {
		return nil, ErrTarget
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && t == Loopback:
	default:
		return nil, ErrTarget
	}
	host := strings.ToLower(u.Hostname())
	addr, err := netip.ParseAddr(host)
	isIP := err == nil
	if t == Loopback {
		if host == "localhost" || (isIP && addr.Unmap().IsLoopback()) {
			return u, nil
		}
		return nil, ErrTarget
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || (isIP && Refused(addr)) ||
		(!isIP && !strings.Contains(host, ".")) {
		return nil, ErrTarget
	}
	return u, nil
}
