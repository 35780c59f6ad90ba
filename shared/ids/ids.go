package ids

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
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
	// Subscription, Attempt and Event name webhook subscriptions, their delivery attempts, and
	// the events (other than a delivery received, which keeps its delivery's id) sent to them.
	Subscription = "sub_"
	Attempt      = "att_"
	Event        = "kev_"
)

// last is the previous id's time and random part. Within one process, an id made in the same
// millisecond as the previous one (or with a clock that went back) takes the previous random
// part plus one, so that ids keep the order they were made in.
var last struct {
	sync.Mutex
	ms   uint64
	rand [10]byte
}

// New returns a new id of the given kind, made at t.
func New(prefix string, t time.Time) string {
	var raw [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	last.Lock()
	if ms <= last.ms && increment(last.rand[:]) {
		ms = last.ms
	} else if _, err := rand.Read(last.rand[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	last.ms = ms
	binary.BigEndian.PutUint64(raw[:8], ms<<16)
	copy(raw[6:], last.rand[:])
	last.Unlock()
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

// increment adds one to a big-endian number, reporting false when it overflows.
func increment(b []byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return true
		}
	}
	return false
}
