package ids

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

const (
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	bodyLen   = 26 // 130 bits: 48 of time, 80 random, 2 left zero at the top
)

// Prefixes of the kinds of id.
const (
	Token    = "tok_"
	Audit    = "aud_"
	Delivery = "evt_"
)

// New returns a new id of the given kind, made at t.
func New(prefix string, t time.Time) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(t.UnixMilli())<<16)
	if _, err := rand.Read(raw[6:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	out := make([]byte, len(prefix)+bodyLen)
	copy(out, prefix)
	// 128 bits as 26 base32 digits, most significant first; the first digit holds only 3 bits.
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := binary.BigEndian.Uint64(raw[8:])
	for i := len(out) - 1; i >= len(prefix); i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// Valid reports whether s is a well-formed id of the given kind. It bounds what reaches a table
// key from a URL.
func Valid(prefix, s string) bool {
	if len(s) != len(prefix)+bodyLen || s[:len(prefix)] != prefix {
		return false
	}
	if s[len(prefix)] > '7' { // 130 bits of digits for 128 bits of value
		return false
	}
	for i := len(prefix); i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U'
}
