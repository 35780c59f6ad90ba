package webhooks

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
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
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, ErrTarget // no connection could be made: refused now rather than retried for a day
		}
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
	name := strings.TrimSuffix(host, ".") // a name's root dot changes nothing: localhost. is localhost
	if name == "localhost" || strings.HasSuffix(name, ".localhost") || (isIP && Refused(addr)) ||
		(!isIP && (!strings.Contains(name, ".") || numericLabel(name[strings.LastIndex(name, ".")+1:]))) {
		return nil, ErrTarget
	}
	return u, nil
}

// numericLabel reports a top-level label of digits only, which no DNS name has (RFC 3696 §2):
// such a host is an address in a form netip does not read (127.1), which some resolvers take as
// the address.
func numericLabel(label string) bool {
	return label == "" || strings.Trim(label, "0123456789") == ""
}
