package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
)

// DefaultPrefix is the prefix of every key unless the deployment sets another.
const DefaultPrefix = "cbk_"

const (
	alphabet    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	bodyLen     = 43 // 43 base62 characters carry 256.03 bits
	checksumLen = 6  // 62^6 > 2^32, so any CRC32 fits
	hintTail    = 4
)

// ErrMalformed reports a string that is not a well-formed key: wrong prefix, length, alphabet or
// checksum. It never says which, so that it cannot be used to probe the format.
var ErrMalformed = errors.New("malformed api key")

var (
	// crcTable is the plain IEEE table, which hash/crc32 builds when it starts anyway;
	// crc32.MakeTable would also build its 8 KB slicing tables, which checksum does not use.
	crcTable   = crc32.IEEETable
	inAlphabet [256]bool
)

func init() {
	for i := 0; i < len(alphabet); i++ {
		inAlphabet[alphabet[i]] = true
	}
}

// Format makes and parses the keys of one prefix.
type Format struct {
	prefix string
}

// NewFormat returns the format for prefix, which must be 2 to 8 lowercase letters or digits,
// starting with a letter, followed by an underscore (e.g. "cbk_").
func NewFormat(prefix string) (Format, error) {
	if !validPrefix(prefix) {
		return Format{}, fmt.Errorf("api key prefix %q: want 2 to 8 lowercase letters or digits, starting with a letter, then _", prefix)
	}
	return Format{prefix: prefix}, nil
}

// validPrefix reports whether prefix matches ^[a-z][a-z0-9]{1,7}_$. It is checked by hand, not
// with a regular expression, so that no function compiles one when it starts.
func validPrefix(prefix string) bool {
	n := len(prefix)
	if n < 3 || n > 9 || prefix[n-1] != '_' || prefix[0] < 'a' || prefix[0] > 'z' {
		return false
	}
	for i := 1; i < n-1; i++ {
		if c := prefix[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Prefix returns the format's prefix.
func (f Format) Prefix() string { return f.prefix }

// Len returns the length of every key of this format.
func (f Format) Len() int { return len(f.prefix) + bodyLen + checksumLen }

// Pattern returns the regular expression that matches the keys of this format in any text, for
// secret scanners and for tests that look for leaked keys.
func (f Format) Pattern() string {
	return `\b` + regexp.QuoteMeta(f.prefix) + fmt.Sprintf(`[0-9A-Za-z]{%d}\b`, bodyLen+checksumLen)
}

// Generate returns a new key with a body from crypto/rand.
func (f Format) Generate() (string, error) {
	key := make([]byte, 0, f.Len())
	key = append(key, f.prefix...)
	var buf [64]byte
	for len(key) < len(f.prefix)+bodyLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("generate api key: %w", err)
		}
		for _, b := range buf {
			// Rejection sampling keeps every character equally likely: 6 bits give 0..63 and
			// the two values past the alphabet are thrown away.
			if c := b & 0x3f; c < 62 && len(key) < len(f.prefix)+bodyLen {
				key = append(key, alphabet[c])
			}
		}
	}
	key = appendChecksum(key, checksum(string(key)))
	return string(key), nil
}

// Parse checks that s is a well-formed key of this format. It only looks at the text, so a
// malformed key is refused without any lookup.
func (f Format) Parse(s string) error {
	if len(s) != f.Len() || s[:len(f.prefix)] != f.prefix {
		return ErrMalformed
	}
	for i := len(f.prefix); i < len(s); i++ {
		if !inAlphabet[s[i]] {
			return ErrMalformed
		}
	}
	split := len(s) - checksumLen
	want, ok := decodeChecksum(s[split:])
	if !ok || want != checksum(s[:split]) {
		return ErrMalformed
	}
	return nil
}

// Hint returns what may be shown of a key: its prefix and its last four characters.
func (f Format) Hint(key string) string {
	if len(key) < len(f.prefix)+hintTail {
		return f.prefix + "…"
	}
	return f.prefix + "…" + key[len(key)-hintTail:]
}

// checksum is CRC32 (IEEE) over a string, without copying it into a byte slice.
func checksum(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crcTable[byte(crc)^s[i]] ^ (crc >> 8)
	}
	return ^crc
}

func appendChecksum(dst []byte, sum uint32) []byte {
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[sum%62]
		sum /= 62
	}
	return append(dst, out[:]...)
}

func decodeChecksum(s string) (uint32, bool) {
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'Z':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'z':
			d = c - 'a' + 36
		default:
			return 0, false
		}
		v = v*62 + uint64(d)
	}
	if v > 0xffffffff {
		return 0, false
	}
	return uint32(v), true
}

// Hash is a key's lookup hash: SHA-256 of the whole key. The table finds a key's token by it,
// with no key ring material, so that one read answers a check whatever versions the ring holds;
// the HMAC under the token's own ring version is still compared after that read. A key carries
// about 256 random bits, so its hash cannot be turned back into the key.
func Hash(key string) [sha256.Size]byte { return sha256.Sum256([]byte(key)) }
