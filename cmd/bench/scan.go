package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/leakreport"
)

// leakRoutePath is the public route GitHub's secret scanning reports leaked keys to.
const leakRoutePath = "/v1/secret-scanning/github"

// scanner stands in for GitHub's secret scanning, as the local run does: it signs reports with
// a key of its own and publishes the public half in GitHub's format on a loopback HTTP server,
// where the report function's key source fetches it, so that every report call is a real one.
type scanner struct {
	signer *ecdsa.PrivateKey
	id     string
	srv    *httptest.Server
}

// newScanner makes the signing key and starts publishing it; Close stops the server.
func newScanner() (*scanner, error) {
	signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("secret scanning key: %w", err)
	}
	id, err := leakreport.KeyIdentifier(&signer.PublicKey)
	if err != nil {
		return nil, err
	}
	doc, err := leakreport.KeysDocument(map[string]*ecdsa.PublicKey{id: &signer.PublicKey}, id)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "application/json")
		w.Write(doc)
	}))
	return &scanner{signer: signer, id: id, srv: srv}, nil
}

// Close stops publishing the key.
func (s *scanner) Close() { s.srv.Close() }

// keysURL is where the public key is published: the report function's SECRET_SCANNING_KEYS_URL.
func (s *scanner) keysURL() string { return s.srv.URL }

// report returns a report of key as GitHub sends one: the body and its signature headers.
func (s *scanner) report(key string) (body string, headers map[string]string, err error) {
	b, err := json.Marshal([]leakreport.Item{{Token: key, Type: handlers.TokenType,
		URL: "https://github.com/example/repo/blob/main/.env", Source: "content"}})
	if err != nil {
		return "", nil, err
	}
	sig, err := leakreport.Sign(s.signer, b)
	if err != nil {
		return "", nil, err
	}
	return string(b), map[string]string{
		"github-public-key-identifier": s.id,
		"github-public-key-signature":  sig,
	}, nil
}
