package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/leakreport"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// The local run stands in for GitHub's secret scanning: it signs reports with a key of its own
// and publishes that key's public half in GitHub's format, where the report function fetches
// it (the template's SecretScanningKeysUrl, overridden locally).
const (
	scanKeyFile  = "secret-scanning-key.pem"
	scanKeysPath = "/local/secret-scanning/public-keys"
	reportPath   = "/v1/secret-scanning/github"
)

// loadOrCreateScanKey reads the local signing key of secret scanning reports, or makes one.
func loadOrCreateScanKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("secret scanning key: %w", err)
		}
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("secret scanning key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("secret scanning key: %w", err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("secret scanning key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret scanning key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "EC PRIVATE KEY" {
		return nil, fmt.Errorf("secret scanning key %s: not a PEM EC private key", path)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("secret scanning key %s: %w", path, err)
	}
	return key, nil
}

// scanKeysHandler publishes key's public half as GitHub publishes its own.
func scanKeysHandler(key *ecdsa.PrivateKey) (http.Handler, error) {
	id, err := leakreport.KeyIdentifier(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	doc, err := leakreport.KeysDocument(map[string]*ecdsa.PublicKey{id: &key.PublicKey}, id)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("content-type", "application/json")
		w.Write(doc)
	}), nil
}

// signedReport is a report of key as GitHub sends one: the body, the key identifier and the
// signature.
func signedReport(signer *ecdsa.PrivateKey, key string) (body []byte, id, sig string, err error) {
	body, err = json.Marshal([]leakreport.Item{{Token: key, Type: handlers.TokenType,
		URL: "https://github.com/example/repo/blob/main/.env", Source: "content"}})
	if err != nil {
		return nil, "", "", err
	}
	if id, err = leakreport.KeyIdentifier(&signer.PublicKey); err != nil {
		return nil, "", "", err
	}
	sig, err = leakreport.Sign(signer, body)
	return body, id, sig, err
}

// reportLeakCommand is `localapi report-leak KEY`: send the running local API a report of KEY
// signed as GitHub would, and print the answer.
func reportLeakCommand(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("localapi report-leak", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "", "address the local API serves on (default: the address the last local API of the state folder recorded, else "+DefaultAddr+")")
	state := fl.String("state", "", "folder of the signing key (default: .localapi at the repository root)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 || fl.Arg(0) == "" {
		fmt.Fprintln(stderr, "localapi report-leak: want the key to report: report-leak [-addr host:port] KEY")
		return 2
	}
	if *state == "" {
		root, err := samtemplate.FindRoot()
		if err != nil {
			fmt.Fprintln(stderr, "localapi report-leak:", err)
			return 1
		}
		*state = filepath.Join(root, StateDir)
	}
	keyPath := filepath.Join(*state, scanKeyFile)
	if _, err := os.Stat(keyPath); err != nil {
		fmt.Fprintf(stderr, "localapi report-leak: no signing key in %s: start the local API first (make run)\n", *state)
		return 1
	}
	signer, err := loadOrCreateScanKey(keyPath)
	if err != nil {
		fmt.Fprintln(stderr, "localapi report-leak:", err)
		return 1
	}
	body, id, sig, err := signedReport(signer, fl.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "localapi report-leak:", err)
		return 1
	}
	status, answer, err := postReport(apiBase(*addr, *state), body, id, sig)
	if err != nil {
		fmt.Fprintln(stderr, "localapi report-leak:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%d %s\n%s\n", status, http.StatusText(status), keyShaped.ReplaceAll(answer, []byte("${1}…${2}")))
	if status != http.StatusOK {
		return 1
	}
	return 0
}

// keyShaped finds anything shaped like a key, so that what is printed (the command's answer,
// the tests' failure messages) shows its prefix and last four characters instead: GitHub's
// feedback array repeats each reported token whole.
var keyShaped = regexp.MustCompile(`\b([a-z][a-z0-9]{1,7}_)[0-9A-Za-z]{45}([0-9A-Za-z]{4})\b`)

// postReport sends a report to the secret scanning route of the local API at base (its
// http://host:port) with GitHub's two signature headers, and returns the status and the answer.
func postReport(base string, body []byte, id, sig string) (status int, answer []byte, err error) {
	req, err := http.NewRequest(http.MethodPost, base+reportPath, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Github-Public-Key-Identifier", id)
	req.Header.Set("Github-Public-Key-Signature", sig)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}
