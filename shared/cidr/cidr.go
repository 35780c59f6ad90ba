package cidr

import (
	"net/http"
	"net/netip"
	"slices"

	"github.com/apitokens/apitokens/shared/fault"
)

// Max is the most prefixes one allowlist holds.
const Max = 20

// ErrInvalid refuses an allowlist that is not 1 to Max prefixes.
var ErrInvalid = fault.Domain("invalid cidr", http.StatusBadRequest, "invalid_cidr",
	"allowedCidrs must be null (anywhere) or a list of 1 to 20 IPv4 or IPv6 CIDRs such as 203.0.113.0/24 or 2001:db8::/32.")

// Parse checks an allowlist as a request gives it and returns it normalised: nil (anywhere)
// stays nil; each entry becomes its network's prefix ("10.1.2.3/8" → "10.0.0.0/8", an address
// alone a /32 or /128), repeats dropped, in the order given. An empty list, more than Max
// entries, a zone or anything else that is not a prefix is ErrInvalid.
func Parse(list []string) ([]string, error) {
	if list == nil {
		return nil, nil
	}
	if len(list) == 0 || len(list) > Max {
		return nil, ErrInvalid
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, ok := parseOne(s)
		if !ok {
			return nil, ErrInvalid
		}
		if n := p.String(); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func parseOne(s string) (netip.Prefix, bool) {
	if len(s) > 64 {
		return netip.Prefix{}, false
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// Set is an allowlist ready to check addresses against; nil allows every address.
type Set []netip.Prefix

// Compile turns a stored allowlist into a Set. Entries that do not read (none do, once Parse
// wrote them) are left out, so such an entry allows nothing.
func Compile(list []string) Set {
	if list == nil {
		return nil
	}
	s := make(Set, 0, len(list))
	for _, e := range list {
		if p, ok := parseOne(e); ok {
			s = append(s, p)
		}
	}
	return s
}

// Allows reports whether the source address addr (as API Gateway gives it) is inside the set.
// A nil set allows every address; a non-nil one refuses an address that does not read. An
// IPv4-mapped IPv6 address counts as its IPv4 address.
func (s Set) Allows(addr string) bool {
	if s == nil {
		return true
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
