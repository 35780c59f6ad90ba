package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// refusedPrefixes are the addresses a deployed sender never connects to: this host and
// "this network", private networks (RFC 1918, unique local fc00::/7, which holds EC2's metadata
// address fd00:ec2::254), link-local (169.254.0.0/16, with the metadata address
// 169.254.169.254), carrier-grade NAT (100.64.0.0/10), the IETF's and the documentation's
// special ranges, benchmarking, multicast, reserved and broadcast.
var refusedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "2001:db8::/32", "100::/64",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4 address in their last 32
// bits, which is checked in their place.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Refused reports whether a deployed sender must not connect to addr.
func Refused(addr netip.Addr) bool {
	addr = addr.Unmap()
	if nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !addr.IsValid() || addr.Zone() != "" {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ErrRefusedAddress reports a target whose name resolved to an address the guard refuses.
var ErrRefusedAddress = errors.New("target address refused")

// Resolver finds a name's addresses; net.DefaultResolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard connects only to the addresses its Targets allow: under Public, none that Refused
// names; under Loopback, only 127.0.0.0/8 and ::1. It resolves the name itself, checks every
// address, and dials the address it checked, so that a name cannot answer one address to the
// check and another to the connection; the dialer checks the address once more before it
// connects.
type Guard struct {
	Targets  Targets
	Resolver Resolver
	// Dial connects to one checked address ("ip:port"); nil is a net.Dialer whose Control
	// checks the address again.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Allowed reports whether the guard may connect to addr.
func (g *Guard) Allowed(addr netip.Addr) bool {
	if g.Targets == Loopback {
		return addr.Unmap().IsLoopback()
	}
	return !Refused(addr)
}

// DialContext resolves address's host, refuses it if any of its addresses is not allowed, and
// dials the first of them that answers.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if addrs, err = g.Resolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, fmt.Errorf("resolve target: %w", err)
	}
	if len(addrs) == 0 {
		return nil, ErrRefusedAddress
	}
	for _, a := range addrs {
		if !g.Allowed(a) {
			return nil, ErrRefusedAddress
		}
	}
	dial := g.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: 5 * time.Second, Control: g.control}
		dial = d.DialContext
	}
	var errs []error
	for _, a := range addrs {
		conn, err := dial(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// control is the last check, on the very address the socket is about to connect to.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !g.Allowed(ap.Addr()) {
		return ErrRefusedAddress
	}
	return nil
}

// Client is an HTTP client that connects through the guard only, with no proxy, that follows
// no redirect (a 3xx answer is the target's answer, and a failure), and gives up after timeout.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           g.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       30 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
