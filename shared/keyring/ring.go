package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MinMaterialLen is the shortest version string accepted. The template generates 64 characters.
const MinMaterialLen = 32

// MACLen is the length of a MAC in bytes.
const MACLen = sha256.Size

// ErrUnknownVersion reports a stored version that the ring no longer holds.
var ErrUnknownVersion = errors.New("key ring version not found")

// ErrOpen reports a ciphertext that does not open: tampered with, moved to another item, or sealed
// under other material. It carries no detail on purpose.
var ErrOpen = errors.New("ciphertext does not open")

// Ring is a parsed key ring. It is immutable and safe for concurrent use.
type Ring struct {
	current  *Version
	ordered  []*Version // current first, then the others newest first
	versions map[string]*Version
}

// Version is the key material of one ring version.
type Version struct {
	id      string
	macKey  []byte
	macs    sync.Pool // of hash.Hash: an HMAC keyed once, reset per use
	sealer  cipher.AEAD
	cursors cipher.AEAD
}

// Parse reads a key ring from the secret's JSON. It refuses a ring without "current", a current
// version it does not hold, non-string values, and material shorter than MinMaterialLen. Errors
// never quote the material.
func Parse(secret []byte) (*Ring, error) {
	var raw map[string]any
	if err := json.Unmarshal(secret, &raw); err != nil {
		return nil, errors.New("key ring: not a JSON object")
	}
	cur, ok := raw["current"].(string)
	if !ok || cur == "" {
		return nil, errors.New(`key ring: "current" missing or not a string`)
	}
	r := &Ring{versions: make(map[string]*Version, len(raw)-1)}
	for id, v := range raw {
		if id == "current" {
			continue
		}
		material, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("key ring: version %q is not a string", id)
		}
		if len(material) < MinMaterialLen {
			return nil, fmt.Errorf("key ring: version %q is shorter than %d characters", id, MinMaterialLen)
		}
		ver, err := derive(id, material)
		if err != nil {
			return nil, err
		}
		r.versions[id] = ver
		r.ordered = append(r.ordered, ver)
	}
	r.current = r.versions[cur]
	if r.current == nil {
		return nil, fmt.Errorf("key ring: current version %q not in the ring", cur)
	}
	sort.SliceStable(r.ordered, func(i, j int) bool {
		a, b := r.ordered[i], r.ordered[j]
		if (a == r.current) != (b == r.current) {
			return a == r.current
		}
		return newer(a.id, b.id)
	})
	return r, nil
}

// newer orders version ids so that "k10" comes before "k9": by the number they end in, then by
// text.
func newer(a, b string) bool {
	na, oka := trailingNumber(a)
	nb, okb := trailingNumber(b)
	if oka && okb && na != nb {
		return na > nb
	}
	return a > b
}

func trailingNumber(s string) (int, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(s[i:])
	return n, err == nil
}

func derive(id, material string) (*Version, error) {
	key := func(purpose string) ([]byte, error) {
		return hkdf.Key(sha256.New, []byte(material), []byte("apitokens key ring"), purpose, 32)
	}
	macKey, err := key("apitokens/v1/api-key-mac")
	if err != nil {
		return nil, fmt.Errorf("key ring: derive version %q: %w", id, err)
	}
	sealKey, err := key("apitokens/v1/api-key-seal")
	if err != nil {
		return nil, fmt.Errorf("key ring: derive version %q: %w", id, err)
	}
	cursorKey, err := key("apitokens/v1/cursor-seal")
	if err != nil {
		return nil, fmt.Errorf("key ring: derive version %q: %w", id, err)
	}
	sealer, err := newGCM(sealKey)
	if err != nil {
		return nil, err
	}
	cursors, err := newGCM(cursorKey)
	if err != nil {
		return nil, err
	}
	v := &Version{id: id, macKey: macKey, sealer: sealer, cursors: cursors}
	v.macs.New = func() any { return hmac.New(sha256.New, v.macKey) }
	return v, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	return cipher.NewGCM(block)
}

// Current returns the version new tokens are made with.
func (r *Ring) Current() *Version { return r.current }

// Versions returns every version, the current one first and then the others newest first.
func (r *Ring) Versions() []*Version { return r.ordered }

// Version returns the version with the given id, or ErrUnknownVersion.
func (r *Ring) Version(id string) (*Version, error) {
	if v, ok := r.versions[id]; ok {
		return v, nil
	}
	return nil, ErrUnknownVersion
}

// ID returns the version's name in the ring, e.g. "k2". It is stored with each token and never
// shown by the API.
func (v *Version) ID() string { return v.id }

// MAC returns HMAC-SHA256 of an API key under this version.
func (v *Version) MAC(apiKey string) []byte {
	m := v.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(apiKey))
	out := m.Sum(make([]byte, 0, MACLen))
	v.macs.Put(m)
	return out
}

// Seal encrypts an API key with AES-256-GCM under a random nonce, binding it to aad; the result
// is nonce followed by ciphertext and tag.
func (v *Version) Seal(plaintext, aad []byte) ([]byte, error) {
	return seal(v.sealer, plaintext, aad)
}

// Open reverses Seal. Any mismatch of material, ciphertext or aad gives ErrOpen.
func (v *Version) Open(sealed, aad []byte) ([]byte, error) {
	return open(v.sealer, sealed, aad)
}

// SealCursor encrypts a paging cursor, binding it to aad (what the caller may read).
func (v *Version) SealCursor(plaintext, aad []byte) ([]byte, error) {
	return seal(v.cursors, plaintext, aad)
}

// OpenCursor opens a cursor sealed by any version of the ring, newest first, so that cursors
// survive a rotation.
func (r *Ring) OpenCursor(sealed, aad []byte) ([]byte, error) {
	for _, v := range r.ordered {
		if out, err := open(v.cursors, sealed, aad); err == nil {
			return out, nil
		}
	}
	return nil, ErrOpen
}

func seal(a cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return a.Seal(out, out, plaintext, aad), nil
}

func open(a cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < a.NonceSize()+a.Overhead() {
		return nil, ErrOpen
	}
	out, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// BindingAAD joins the fields a ciphertext is bound to, each length-prefixed so that no two
// different lists give the same bytes.
func BindingAAD(fields ...string) []byte {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	return []byte(b.String())
}
