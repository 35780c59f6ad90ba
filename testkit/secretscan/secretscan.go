package secretscan

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/apitokens/apitokens/shared/apikey"
)

// jwtPattern matches a compact JWS: a base64url JSON header (which always starts "eyJ"), a
// payload and a signature.
var jwtPattern = regexp.MustCompile(`eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}`)

// Scanner scans text for secrets and keeps count. It is safe for concurrent use.
type Scanner struct {
	key *regexp.Regexp

	mu       sync.Mutex
	material map[string]bool
	lines    int
	bodies   int
	hits     int
}

// New returns a scanner for keys matching keyPattern (apikey.Format.Pattern).
func New(keyPattern string) (*Scanner, error) {
	key, err := regexp.Compile(keyPattern)
	if err != nil {
		return nil, fmt.Errorf("secretscan: %w", err)
	}
	return &Scanner{key: key, material: map[string]bool{}}, nil
}

// AddKeyRing adds a key ring secret's value to what must never be seen: the whole value and
// each of its string values long enough to be key material.
func (s *Scanner) AddKeyRing(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.material[secret] = true
	var ring map[string]any
	if json.Unmarshal([]byte(secret), &ring) != nil {
		return
	}
	for _, v := range ring {
		if m, ok := v.(string); ok && len(m) >= 16 {
			s.material[m] = true
		}
	}
}

// Log scans captured output line by line and describes each finding by line number and kind,
// never quoting the secret.
func (s *Scanner) Log(source, text string) []string {
	var found []string
	n := 0
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line == "" {
			continue
		}
		n++
		for _, kind := range s.kinds(line) {
			found = append(found, fmt.Sprintf("%s line %d holds %s", source, i+1, kind))
		}
	}
	s.count(n, 0, len(found))
	return found
}

// Body scans one response body, an error's above all.
func (s *Scanner) Body(source, body string) []string {
	var found []string
	for _, kind := range s.kinds(body) {
		found = append(found, fmt.Sprintf("%s holds %s", source, kind))
	}
	s.count(0, 1, len(found))
	return found
}

// Summary says how much was scanned and how many secrets were found.
func (s *Scanner) Summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("secret scan: %d log lines and %d error bodies scanned, %d findings", s.lines, s.bodies, s.hits)
}

// Redact returns text with every secret it finds replaced by what kind it is, for error text
// that may quote what it checked (a validator quoting a value that broke a pattern, say).
func (s *Scanner) Redact(text string) string {
	text = s.key.ReplaceAllLiteralString(text, "[API key]")
	text = jwtPattern.ReplaceAllLiteralString(text, "[session token]")
	s.mu.Lock()
	defer s.mu.Unlock()
	for m := range s.material {
		text = strings.ReplaceAll(text, m, "[key ring material]")
	}
	return text
}

func (s *Scanner) kinds(text string) []string {
	var kinds []string
	if s.key.MatchString(text) {
		kinds = append(kinds, "an API key")
	}
	if jwtPattern.MatchString(text) {
		kinds = append(kinds, "a session token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for m := range s.material {
		if strings.Contains(text, m) {
			kinds = append(kinds, "key ring material")
			break
		}
	}
	return kinds
}

func (s *Scanner) count(lines, bodies, hits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines += lines
	s.bodies += bodies
	s.hits += hits
}

// Shared is one scanner for the whole test binary, for keys of the default prefix, so that
// TestMain can print one summary of everything the binary's tests scanned.
var Shared = sync.OnceValue(func() *Scanner {
	format, err := apikey.NewFormat(apikey.DefaultPrefix)
	if err != nil {
		panic(err)
	}
	s, err := New(format.Pattern())
	if err != nil {
		panic(err)
	}
	return s
})
