package ids

import (
	"regexp"
	"sort"
	"testing"
	"time"
)

func TestNewSortsByTime(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	var made []string
	for i := range 200 {
		made = append(made, New(Token, base.Add(time.Duration(i)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(made) {
		t.Error("ids made later do not sort after earlier ones")
	}
	for _, id := range made {
		if !Valid(Token, id) {
			t.Fatalf("Valid(%q) = false for a new id", id)
		}
	}
	// The same instant, over and over (a frozen clock, or many ids in one millisecond): still
	// unique, still in the order made.
	var same []string
	for range 100 {
		same = append(same, New(Audit, base))
	}
	if !sort.StringsAreSorted(same) || same[0] == same[1] {
		t.Error("ids of the same millisecond are not unique and in order")
	}
}

func TestValidRefuses(t *testing.T) {
	good := New(Token, time.Now())
	for name, s := range map[string]string{
		"empty":        "",
		"other kind":   Audit + good[4:],
		"short":        good[:len(good)-1],
		"long":         good + "0",
		"lowercase":    good[:4] + "a" + good[5:],
		"letter I":     good[:len(good)-1] + "I",
		"path":         "tok_../../../../etc/passwd0000",
		"top overflow": good[:4] + "8" + good[5:],
	} {
		if Valid(Token, s) {
			t.Errorf("Valid(%s) = true, want false", name)
		}
	}
}

// FuzzValid feeds Valid any text: it accepts exactly what the pattern openapi.yaml gives token
// ids matches (the prefix, then 26 Crockford base32 digits of which the first is at most 7), and
// never an id of another kind.
func FuzzValid(f *testing.F) {
	f.Add(New(Token, time.Now()))
	f.Add("tok_")
	f.Add("tok_7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
	f.Add("tok_8ZZZZZZZZZZZZZZZZZZZZZZZZZ")
	f.Add("tok_01kaz3j3w8m1y4s0zq6x7p2b9c")
	f.Add("aud_01KAZ3J3W8M1Y4S0ZQ6X7P2B9C")
	documented := regexp.MustCompile(`^tok_[0-7][0-9A-HJKMNP-TV-Z]{25}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Valid(Token, s), documented.MatchString(s); got != want {
			t.Fatalf("Valid(%q) = %v, want %v", s, got, want)
		}
		if Valid(Token, s) && (Valid(Audit, s) || Valid(Delivery, s)) {
			t.Fatalf("%q is valid as two kinds of id", s)
		}
	})
}
