package apikey

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzChecksum builds a key from any 43-character body and its checksum: it parses exactly when
// the body is base62, and then changing any one character of it makes Parse refuse it, which is
// what lets a scanner or the authorizer tell a mistyped or forged key without a lookup.
func FuzzChecksum(f *testing.F) {
	f.Add(strings.Repeat("0", bodyLen), uint(0), byte('1'))
	f.Add(strings.Repeat("z", bodyLen), uint(bodyLen+3), byte('y'))
	f.Add(strings.Repeat("Az", bodyLen/2)+"A", uint(1), byte('_'))
	f.Add(strings.Repeat("a", bodyLen-1)+"-", uint(7), byte('b'))
	f.Add(strings.Repeat("a", bodyLen-1), uint(7), byte('b'))
	format := mustFormat(f)
	f.Fuzz(func(t *testing.T, body string, pos uint, c byte) {
		head := format.Prefix() + body
		key := string(appendChecksum([]byte(head), checksum(head)))
		inAlphabet := len(body) == bodyLen && strings.Trim(body, alphabet) == ""
		if err := format.Parse(key); (err == nil) != inAlphabet {
			t.Fatalf("Parse(prefix, %q, its checksum) = %v, want nil exactly for a 43-character base62 body", body, err)
		}
		if !inAlphabet {
			return
		}
		i := int(pos % uint(len(key)))
		if key[i] == c {
			return
		}
		changed := key[:i] + string(c) + key[i+1:]
		if format.Parse(changed) == nil {
			t.Fatalf("Parse accepted a key with character %d changed from %q to %q", i, key[i], c)
		}
	})
}

// FuzzNewFormat feeds NewFormat any prefix: it accepts exactly what the documented expression
// ^[a-z][a-z0-9]{1,7}_$ matches, and a format it accepts makes keys that it parses and that its
// Pattern finds.
func FuzzNewFormat(f *testing.F) {
	for _, p := range []string{"cbk_", "ab_", "tok2_", "abcdefgh_", "abcdefghi_", "a_", "1ab_", "CBK_", "cb-k_", "cbk", "_", "", "cbk_\n", "ćbk_"} {
		f.Add(p)
	}
	documented := regexp.MustCompile(`^[a-z][a-z0-9]{1,7}_$`)
	f.Fuzz(func(t *testing.T, prefix string) {
		format, err := NewFormat(prefix)
		if (err == nil) != documented.MatchString(prefix) {
			t.Fatalf("NewFormat(%q) = %v, want it accepted exactly when %s matches", prefix, err, documented)
		}
		if err != nil {
			return
		}
		key, err := format.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if format.Parse(key) != nil || !regexp.MustCompile(format.Pattern()).MatchString(" "+key+" ") || len(key) != format.Len() {
			t.Fatalf("prefix %q: a generated key does not parse, match Pattern or have Len", prefix)
		}
	})
}
