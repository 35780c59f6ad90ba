package leakreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Limits of one report.
const (
	// MaxBody is the largest report body read, in bytes.
	MaxBody = 1 << 20
	// MaxItems is the most items one report may hold.
	MaxItems = 1000
)

// Labels of the feedback.
const (
	TruePositive  = "true_positive"
	FalsePositive = "false_positive"
)

// Errors of a report's shape.
var (
	// ErrMalformed reports a body that is not a JSON array of {token, type, url, source}.
	ErrMalformed = errors.New("report is not a json array of {token, type, url, source}")
	// ErrTooManyItems reports a body of more than MaxItems items.
	ErrTooManyItems = errors.New("report holds too many items")
)

// Item is one match GitHub reports: the text it found, the token type it matched as, and where.
type Item struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Feedback is GitHub's answer shape for one item: whether the text is one of our keys.
type Feedback struct {
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// Parse reads a report: a JSON array of at most MaxItems objects, each with the string fields
// token (not empty), type, url and source. Fields GitHub may add later are ignored; a field of
// the wrong type, a missing token, or anything after the array is ErrMalformed.
func Parse(body []byte) ([]Item, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return nil, ErrMalformed
	}
	var items []Item
	for dec.More() {
		if len(items) == MaxItems {
			return nil, ErrTooManyItems
		}
		var raw map[string]json.RawMessage
		if err := dec.Decode(&raw); err != nil || raw == nil {
			return nil, ErrMalformed
		}
		var it Item
		for name, dst := range map[string]*string{"token": &it.Token, "type": &it.Type, "url": &it.URL, "source": &it.Source} {
			v, ok := raw[name]
			if !ok {
				continue
			}
			if err := json.Unmarshal(v, dst); err != nil || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				return nil, fmt.Errorf("%w: field %s", ErrMalformed, name)
			}
		}
		if it.Token == "" {
			return nil, fmt.Errorf("%w: an item without a token", ErrMalformed)
		}
		items = append(items, it)
	}
	if _, err := dec.Token(); err != nil {
		return nil, ErrMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrMalformed
	}
	return items, nil
}
