package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret, as Standard Webhooks writes them: the part after it
// is the base64 of the HMAC key.
const SecretPrefix = "whsec_"

// secretBytes is the length of a signing secret's key: 32 bytes, as long as SHA-256's block
// needs no padding and well above the specification's 24-byte minimum.
const secretBytes = 32

// errBadSecret reports a secret that is not whsec_ and base64.
var errBadSecret = errors.New("signing secret is not whsec_ followed by base64")

// NewSecret makes a signing secret from crypto/rand.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Headers are the three headers of a signed delivery.
type Headers struct {
	ID        string // webhook-id: the same on every attempt of one event to one subscription
	Timestamp string // webhook-timestamp: the attempt's time, in Unix seconds
	Signature string // webhook-signature: "v1," and the base64 HMAC-SHA256
}

// Sign signs body for the delivery id at time at with secret: HMAC-SHA256, keyed with the
// secret's base64 part decoded, over "id.timestamp.body".
func Sign(secret, id string, at time.Time, body []byte) (Headers, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || !strings.HasPrefix(secret, SecretPrefix) || len(key) == 0 {
		return Headers{}, errBadSecret
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return Headers{ID: id, Timestamp: ts, Signature: "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))}, nil
}
