package leakreport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultKeysURL is where GitHub publishes the public keys that sign its secret scanning reports.
const DefaultKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// Timing of the public keys' cache.
const (
	// KeysTTL is how long fetched keys are used before they are fetched again.
	KeysTTL = time.Hour
	// RefetchEvery bounds the fetches an unknown key identifier may cause: one per this time,
	// so that reports naming made-up identifiers cannot hammer the keys' URL.
	RefetchEvery = time.Minute
	// fetchTimeout bounds one fetch of the keys.
	fetchTimeout = 5 * time.Second
	// maxKeysDocument bounds the keys document read.
	maxKeysDocument = 1 << 20
)

// Errors of a report's signature.
var (
	// ErrNoSignature reports a report without its key identifier or signature header.
	ErrNoSignature = errors.New("report is not signed")
	// ErrUnknownKey reports a key identifier the keys' URL does not publish.
	ErrUnknownKey = errors.New("report signed with an unknown key")
	// ErrBadSignature reports a signature that does not verify over the body.
	ErrBadSignature = errors.New("report signature does not verify")
)

// HTTPClient is the part of *http.Client the key source uses.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// Keys fetches and caches the public keys published at a URL in GitHub's format:
// {"public_keys":[{"key_identifier":…,"key":"<PEM>","is_current":…}]}. It keeps the last good
// set when a fetch fails, and fetches again once for an identifier it does not hold (at most
// once per RefetchEvery). It is safe for concurrent use.
type Keys struct {
	url    string
	client HTTPClient
	now    func() time.Time

	mu        sync.Mutex
	keys      map[string]*ecdsa.PublicKey
	fetchedAt time.Time // of the keys held
	triedAt   time.Time // of the last fetch, good or not
}

// NewKeys returns the key source of url (DefaultKeysURL when empty), fetched with client.
func NewKeys(url string, client HTTPClient) *Keys {
	if url == "" {
		url = DefaultKeysURL
	}
	return &Keys{url: url, client: client, now: time.Now}
}

// Verify checks that sig (base64 of an ASN.1 DER ECDSA signature) signs SHA-256 of body with the
// key named id. It returns ErrNoSignature, ErrUnknownKey, ErrBadSignature, or an error of its
// own when no keys could be had at all.
func (k *Keys) Verify(ctx context.Context, id, sig string, body []byte) error {
	if id == "" || sig == "" {
		return ErrNoSignature
	}
	pub, err := k.key(ctx, id)
	if err != nil {
		return err
	}
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return ErrBadSignature
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], der) {
		return ErrBadSignature
	}
	return nil
}

// key returns the public key named id.
func (k *Keys) key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	var fetchErr error
	if k.keys == nil || now.Sub(k.fetchedAt) >= KeysTTL {
		fetchErr = k.fetch(ctx, now)
	}
	if _, ok := k.keys[id]; !ok && k.keys != nil && fetchErr == nil && now.Sub(k.triedAt) >= RefetchEvery {
		fetchErr = k.fetch(ctx, now)
	}
	if k.keys == nil {
		return nil, fmt.Errorf("secret scanning keys: %w", fetchErr)
	}
	pub, ok := k.keys[id]
	if !ok {
		return nil, ErrUnknownKey
	}
	return pub, nil
}

// fetch reads the keys; on failure the keys held stay.
func (k *Keys) fetch(ctx context.Context, now time.Time) error {
	k.triedAt = now
	keys, err := k.read(ctx)
	if err != nil {
		return err
	}
	k.keys, k.fetchedAt = keys, now
	return nil
}

type keysDocument struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	} `json:"public_keys"`
}

func (k *Keys) read(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "apitokens-secret-scanning")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch keys: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysDocument+1))
	if err != nil {
		return nil, fmt.Errorf("fetch keys: %w", err)
	}
	if len(body) > maxKeysDocument {
		return nil, errors.New("fetch keys: document too large")
	}
	return ParseKeys(body)
}

// ParseKeys reads a keys document in GitHub's format. Every key must be a PEM "PUBLIC KEY" of
// ECDSA on P-256; a document with none is an error.
func ParseKeys(body []byte) (map[string]*ecdsa.PublicKey, error) {
	var doc keysDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	keys := make(map[string]*ecdsa.PublicKey, len(doc.PublicKeys))
	for _, pk := range doc.PublicKeys {
		block, _ := pem.Decode([]byte(pk.Key))
		if block == nil || block.Type != "PUBLIC KEY" || pk.KeyIdentifier == "" {
			return nil, fmt.Errorf("read keys: key %q is not a PEM public key", pk.KeyIdentifier)
		}
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read keys: key %q: %w", pk.KeyIdentifier, err)
		}
		pub, ok := parsed.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("read keys: key %q is not ECDSA P-256", pk.KeyIdentifier)
		}
		keys[pk.KeyIdentifier] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("read keys: no public keys")
	}
	return keys, nil
}

// KeysDocument writes public keys in GitHub's format, the first one current: what a local run
// publishes for the key it signs its test reports with.
func KeysDocument(keys map[string]*ecdsa.PublicKey, current string) ([]byte, error) {
	type entry struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	}
	doc := struct {
		PublicKeys []entry `json:"public_keys"`
	}{}
	for id, pub := range keys {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("write keys: %w", err)
		}
		doc.PublicKeys = append(doc.PublicKeys, entry{KeyIdentifier: id, IsCurrent: id == current,
			Key: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	}
	return json.Marshal(doc)
}

// KeyIdentifier names a public key the way a local publisher of keys does: the hex SHA-256 of
// its DER form. GitHub's identifiers are GitHub's own; Verify only looks them up.
func KeyIdentifier(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("key identifier: %w", err)
	}
	sum := sha256.Sum256(der)
	return fmt.Sprintf("%x", sum), nil
}

// Sign signs body as GitHub does: base64 of the ASN.1 DER ECDSA signature over SHA-256 of it.
// The local run and the tests sign their reports with it.
func Sign(priv *ecdsa.PrivateKey, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	der, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign report: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}
