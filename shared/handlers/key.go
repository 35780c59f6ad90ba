package handlers

import (
	"context"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// keyAAD is what a sealed key is bound to: its token, owner and environment. A ciphertext moved
// onto another item does not open.
func keyAAD(t tokenstore.Token) []byte {
	return keyring.BindingAAD("apitokens/api-key/v1", t.ID, t.UserID, t.EnvironmentID)
}

// newKey makes a key for t (its first or its next), sealed under the ring's current version and
// bound to t's id, user and environment. Nothing is stored yet.
func newKey(ctx context.Context, d *service.Deps, t tokenstore.Token) (tokenstore.NewKey, string, error) {
	ring, err := d.Keys.Ring(ctx)
	if err != nil {
		return tokenstore.NewKey{}, "", err
	}
	key, err := d.Format.Generate()
	if err != nil {
		return tokenstore.NewKey{}, "", err
	}
	v, hash := ring.Current(), apikey.Hash(key)
	next := tokenstore.NewKey{Version: v.ID(), Hash: hash[:], MAC: v.MAC(key), Hint: d.Format.Hint(key)}
	if next.Ciphertext, err = v.Seal([]byte(key), keyAAD(t)); err != nil {
		return tokenstore.NewKey{}, "", err
	}
	return next, key, nil
}

// noStore keeps a response that holds a key out of every cache.
var noStore = []string{"cache-control", "no-store"}
