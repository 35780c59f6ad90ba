package apikey

import (
	"hash/crc32"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

func mustFormat(t testing.TB) Format {
	t.Helper()
	f, err := NewFormat(DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGenerateParses(t *testing.T) {
	f := mustFormat(t)
	re := regexp.MustCompile(f.Pattern())
	seen := map[string]bool{}
	for range 1000 {
		key, err := f.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(key) != f.Len() {
			t.Fatalf("len(key) = %d, want %d", len(key), f.Len())
		}
		if err := f.Parse(key); err != nil {
			t.Fatalf("Parse(generated key) = %v, want nil", err)
		}
		if !re.MatchString("token=" + key + ";") {
			t.Fatalf("Pattern() %s does not match a generated key", f.Pattern())
		}
		if seen[key] {
			t.Fatal("Generate returned the same key twice")
		}
		seen[key] = true
	}
}

func TestPatternIsDocumented(t *testing.T) {
	f := mustFormat(t)
	if got, want := f.Pattern(), `\bcbk_[0-9A-Za-z]{49}\b`; got != want {
		t.Errorf("Pattern() = %s, want %s (the expression in doc.go and docs/keys.md)", got, want)
	}
}

func TestGenerateUsesWholeAlphabet(t *testing.T) {
	f := mustFormat(t)
	counts := map[byte]int{}
	for range 2000 {
		key, err := f.Generate()
		if err != nil {
			t.Fatal(err)
		}
		body := key[len(f.Prefix()) : len(key)-checksumLen]
		for i := 0; i < len(body); i++ {
			counts[body[i]]++
		}
	}
	// 86,000 characters over 62 symbols: about 1,387 each. A biased generator (say, modulo 62 on a
	// byte) would skew the first symbols by several hundred; allow a wide but finite band.
	for i := 0; i < len(alphabet); i++ {
		if n := counts[alphabet[i]]; n < 1100 || n > 1700 {
			t.Errorf("symbol %q drawn %d times, want about 1387", alphabet[i], n)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	f := mustFormat(t)
	good, err := f.Generate()
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":              "",
		"prefix only":        "cbk_",
		"wrong prefix":       "xyz_" + good[4:],
		"upper prefix":       "CBK_" + good[4:],
		"one short":          good[:len(good)-1],
		"one long":           good + "a",
		"bad checksum":       flip(good, len(good)-1),
		"body changed":       flip(good, 10),
		"dash in body":       good[:10] + "-" + good[11:],
		"underscore in body": good[:10] + "_" + good[11:],
		"space":              good[:10] + " " + good[11:],
		"non-ascii":          good[:10] + "é" + good[12:],
		"bearer kept":        "Bearer " + good,
		"checksum overflow":  good[:len(good)-checksumLen] + "zzzzzz",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if err := f.Parse(in); err != ErrMalformed {
				t.Errorf("Parse(%s) = %v, want ErrMalformed", name, err)
			}
		})
	}
}

func TestHint(t *testing.T) {
	f := mustFormat(t)
	key, err := f.Generate()
	if err != nil {
		t.Fatal(err)
	}
	got := f.Hint(key)
	if want := "cbk_…" + key[len(key)-4:]; got != want {
		t.Errorf("Hint = %q, want %q", got, want)
	}
	if strings.Contains(got, key[4:len(key)-4]) {
		t.Error("Hint shows more than the last four characters")
	}
}

func TestNewFormat(t *testing.T) {
	for _, p := range []string{"cbk_", "ab_", "tok2_"} {
		if _, err := NewFormat(p); err != nil {
			t.Errorf("NewFormat(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"", "cbk", "_", "CBK_", "a_", "1ab_", "abcdefghi_", "cb-k_"} {
		if _, err := NewFormat(p); err == nil {
			t.Errorf("NewFormat(%q) = nil, want an error", p)
		}
	}
}

// FuzzParse feeds Parse any text: it accepts exactly the prefix, 43 base62 characters and the
// base62 CRC32 of the two, refuses everything else with ErrMalformed, and what it accepts the
// scanners' pattern matches.
func FuzzParse(f *testing.F) {
	format := mustFormat(f)
	good, err := format.Generate()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add("cbk_")
	f.Add(good[:len(good)-1] + "0")
	pattern := regexp.MustCompile(`^` + format.Pattern() + `$`)
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) == format.Len() && strings.HasPrefix(s, format.Prefix()) &&
			strings.Trim(s[len(format.Prefix()):], alphabet) == "" &&
			s[len(s)-checksumLen:] == base62CRC(s[:len(s)-checksumLen])
		err := format.Parse(s)
		if err != nil && err != ErrMalformed {
			t.Fatalf("Parse returned %v, want nil or ErrMalformed", err)
		}
		// The messages name the input by its hint: an accepted one is shaped like a key.
		if got := err == nil; got != want {
			t.Fatalf("Parse(%d bytes, %s) accepted %v, want %v", len(s), format.Hint(s), got, want)
		}
		if err == nil && !pattern.MatchString(s) {
			t.Fatalf("Parse accepted %s, which Pattern does not match", format.Hint(s))
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	f := mustFormat(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Generate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	f := mustFormat(b)
	key, _ := f.Generate()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Parse(key); err != nil {
			b.Fatal(err)
		}
	}
}

// base62CRC is GitHub's checksum as docs/keys.md describes it, worked out apart from the package:
// hash/crc32's IEEE CRC32 of s in six base62 digits, 0-9 then A-Z then a-z, most significant first.
func base62CRC(s string) string {
	digits := new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(s)))).Text(62) // 0-9, a-z, A-Z
	swapped := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, digits)
	return strings.Repeat("0", 6-len(swapped)) + swapped
}
