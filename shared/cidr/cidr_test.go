package cidr_test

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/apitokens/apitokens/shared/cidr"
)

func TestParse(t *testing.T) {
	twentyOne := make([]string, 21)
	for i := range twentyOne {
		twentyOne[i] = fmt.Sprintf("10.0.%d.0/24", i)
	}
	for _, c := range []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{"10.1.2.3/8"}, []string{"10.0.0.0/8"}},
		{[]string{"203.0.113.7"}, []string{"203.0.113.7/32"}},
		{[]string{"2001:DB8::1/32", "2001:db8::/32"}, []string{"2001:db8::/32"}},
		{[]string{"::1"}, []string{"::1/128"}},
		{twentyOne[:20], twentyOne[:20]},
	} {
		got, err := cidr.Parse(c.in)
		if err != nil || !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("Parse(%q) = %q, %v, want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range [][]string{{}, twentyOne, {"10.0.0.0/33"}, {"fe80::1%eth0/64"}, {"fe80::1%eth0"}, {"example.com"}, {" 10.0.0.0/8"}, {""}, {"10.0.0.0/8/8"}} {
		if got, err := cidr.Parse(in); !errors.Is(err, cidr.ErrInvalid) {
			t.Errorf("Parse(%q) = %q, %v, want ErrInvalid", in, got, err)
		}
	}
}

func TestAllows(t *testing.T) {
	set := cidr.Compile([]string{"10.0.0.0/8", "2001:db8::/32"})
	for addr, want := range map[string]bool{
		"10.9.8.7": true, "127.0.0.1": false, "::ffff:10.1.1.1": true, "2001:db8::5": true,
		"2001:db9::5": false, "": false, "10.0.0.1, 127.0.0.1": false,
	} {
		if got := set.Allows(addr); got != want {
			t.Errorf("Allows(%q) = %v, want %v", addr, got, want)
		}
	}
	if !cidr.Set(nil).Allows("") {
		t.Error("a nil set refused")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3", "::1/128", "fe80::1%eth0/64", "1.2.3.4/33", "", "::ffff:1.2.3.4/104"} {
		f.Add(s, "127.0.0.1")
	}
	f.Fuzz(func(t *testing.T, entry, addr string) {
		got, err := cidr.Parse([]string{entry})
		if err != nil {
			return
		}
		if len(got) != 1 {
			t.Fatalf("Parse(%q) = %q", entry, got)
		}
		again, err := cidr.Parse(got)
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("not stable: %q → %q → %q, %v", entry, got, again, err)
		}
		p := netip.MustParsePrefix(got[0])
		a, perr := netip.ParseAddr(addr)
		want := perr == nil && p.Contains(a.Unmap())
		if cidr.Compile(got).Allows(addr) != want {
			t.Fatalf("Allows(%q) in %q = %v, want %v", addr, got, !want, want)
		}
	})
}
