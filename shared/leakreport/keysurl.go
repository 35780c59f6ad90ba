package leakreport

import (
	"errors"
	"net"
	"net/url"
)

// KeysURLVariable is the function's environment variable that names where the public keys are
// published (the template's SecretScanningKeysUrl); empty means DefaultKeysURL.
const KeysURLVariable = "SECRET_SCANNING_KEYS_URL"

// ErrInsecureKeysURL reports a keys URL that is neither https nor http to a loopback address.
var ErrInsecureKeysURL = errors.New(KeysURLVariable + " must be an https URL (http only to a loopback address, as the local run serves its keys)")

// KeysFromEnv returns the key source of the URL that getenv (os.Getenv in a function) names in
// KeysURLVariable, after CheckKeysURL.
func KeysFromEnv(getenv func(string) string, client HTTPClient) (*Keys, error) {
	u := getenv(KeysURLVariable)
	if u == "" {
		u = DefaultKeysURL
	}
	if err := CheckKeysURL(u); err != nil {
		return nil, err
	}
	return NewKeys(u, client), nil
}

// CheckKeysURL refuses a keys URL whose answer someone on the way could change: whoever can
// swap the keys can sign reports that deactivate any key. It accepts https, and http only to a
// loopback address (127.0.0.0/8, ::1 or localhost), which never leaves the machine: the local
// run publishes its own keys there. The URL is never repeated in the error, as it may carry a
// user and password.
func CheckKeysURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return ErrInsecureKeysURL
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return ErrInsecureKeysURL
}
