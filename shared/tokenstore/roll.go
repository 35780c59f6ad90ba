package tokenstore

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// NewKey is the key material a roll gives a token: made and sealed by the caller, which holds
// the key ring.
type NewKey struct {
	Version    string
	Hash       []byte // apikey.Hash: keys the lookup item
	MAC        []byte
	Ciphertext []byte
	Hint       string
}

// Roll gives t a new key in one transaction: the token item takes the new key, the new key's
// lookup item is put, and the old key's lookup item becomes the previous key's, working until
// now+grace, or is deleted when grace is 0. An earlier previous key ends at once. A token whose
// key was reported leaked gets no grace, and its leak mark is cleared with the key it named.
// The token keeps its id, name, type, status, expiry, history and place in the count. A change
// that raced it (another roll, a delete, a status change) makes it fail with ErrNotFound when
// the token is gone, or ErrConflict; nothing is written then.
func (s *Store) Roll(ctx context.Context, t Token, key NewKey, grace time.Duration, actor Actor) (Token, error) {
	got, _, err := s.roll(ctx, t, key, grace, actor, nil)
	return got, err
}

// RollIdempotent is Roll for a request that carries an Idempotency-Key: the transaction also
// stores the key's record. A repeat within IdempotencyRetention stores nothing and answers the
// token as it is now with replayed true (the same request) or ErrIdempotencyMismatch (another).
func (s *Store) RollIdempotent(ctx context.Context, t Token, key NewKey, grace time.Duration, actor Actor, idem Idempotency) (Token, bool, error) {
	return s.roll(ctx, t, key, grace, actor, &idem)
}

func (s *Store) roll(ctx context.Context, t Token, key NewKey, grace time.Duration, actor Actor, idem *Idempotency) (Token, bool, error) {
	now := s.now().UTC().Truncate(time.Second)
	if t.Leak != nil {
		grace = 0
	}
	next := rolled(t, key, grace, now)
	b, audit := s.rollItems(t, next, grace, actor)
	record := b.putIdem(t, idem, now)
	items, err := b.items()
	if err != nil {
		return Token{}, false, fmt.Errorf("roll token %s: %w", t.ID, err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reasons, ok := cancelReasons(err, len(items)); ok {
		return s.rollRefused(ctx, t, next, reasons, audit, record)
	}
	if err != nil {
		return Token{}, false, fmt.Errorf("roll token %s: %w", t.ID, err)
	}
	return next, false, nil
}

// rolled is t with key in place of its own, and its own as the previous key when a grace runs.
func rolled(t Token, key NewKey, grace time.Duration, now time.Time) Token {
	next := t
	next.KeyVersion, next.KeyHash, next.KeyMAC, next.KeyCiphertext, next.Hint = key.Version, key.Hash, key.MAC, key.Ciphertext, key.Hint
	next.UpdatedAt, next.Leak, next.PreviousKey = now, nil, nil
	if grace > 0 {
		next.PreviousKey = &PreviousKey{Hint: t.Hint, ExpiresAt: now.Add(grace), KeyVersion: t.KeyVersion, KeyHash: t.KeyHash, KeyMAC: t.KeyMAC}
	}
	return next
}

// rollRefused answers a roll whose transaction was cancelled, from its reasons.
func (s *Store) rollRefused(ctx context.Context, t, next Token, reasons []string, audit auditItem, record *idemItem) (Token, bool, error) {
	if s.committed(ctx, audit) {
		return next, false, nil // this call rolled it; only the answer to an earlier attempt was lost
	}
	if record != nil && reasons[len(reasons)-1] == conditionFailed {
		prev, found, err := s.readIdemRecord(ctx, ItemKey(record.PK, record.SK))
		if err != nil {
			return Token{}, false, fmt.Errorf("roll token %s: %w", t.ID, err)
		}
		if found && prev.live(s.now()) {
			got, err := s.replay(ctx, t, prev, record.RequestHash)
			return got, err == nil, err
		}
	}
	return Token{}, false, s.raced(ctx, t, "roll")
}

// rollItems are the writes of a roll from t to next, and the audit record among them.
func (s *Store) rollItems(t, next Token, grace time.Duration, actor Actor) (*tx, auditItem) {
	set := expression.Set(expression.Name("keyMac"), expression.Value(next.KeyMAC)).
		Set(expression.Name("keyHash"), expression.Value(next.KeyHash)).
		Set(expression.Name("keyVersion"), expression.Value(next.KeyVersion)).
		Set(expression.Name("keyCiphertext"), expression.Value(next.KeyCiphertext)).
		Set(expression.Name("hint"), expression.Value(next.Hint)).
		Set(expression.Name("updatedAt"), expression.Value(formatTime(next.UpdatedAt))).
		Remove(expression.Name("leakUrl")).Remove(expression.Name("leakSource")).Remove(expression.Name("leakReportedAt"))
	if p := next.PreviousKey; p != nil {
		set = set.Set(expression.Name("prevKeyMac"), expression.Value(p.KeyMAC)).
			Set(expression.Name("prevKeyHash"), expression.Value(p.KeyHash)).
			Set(expression.Name("prevKeyVersion"), expression.Value(p.KeyVersion)).
			Set(expression.Name("prevHint"), expression.Value(p.Hint)).
			Set(expression.Name("prevKeyExpiresAt"), expression.Value(formatTime(p.ExpiresAt)))
	} else {
		set = removePrevious(set)
	}
	// The lookup items are written whole from t, so t must still be as stored: the same key,
	// status, name, and revision (permissions, addresses, owner); an expiry never changes.
	cond := sameKey(t).And(expression.Name("status").Equal(expression.Value(t.Status)),
		expression.Name("name").Equal(expression.Value(t.Name)), sameRevision(t))
	b := s.tx().update(tokenKey(t), set, &cond).put(newKeyItem(next), absent())
	if next.PreviousKey != nil {
		// The old key's lookup item is replaced by the previous key's, in the same place.
		b = b.put(previousKeyItem(t, next.PreviousKey.ExpiresAt), nil)
	} else {
		b = b.delete(lookupKey(t), nil)
	}
	if t.PreviousKey != nil {
		b = b.delete(previousLookupKey(t), nil)
	}
	detail := map[string]string{"gracePeriodSeconds": strconv.FormatInt(int64(grace/time.Second), 10), "hint": next.Hint}
	if next.PreviousKey != nil {
		detail["previousKeyExpiresAt"] = formatTime(next.PreviousKey.ExpiresAt)
	}
	audit := s.newAuditItem(t, ActionRoll, actor, detail)
	return b.put(audit, nil), audit
}

// previousKeyToken is t as its previous key's lookup item sees it: the same token, the
// previous key's hash, MAC and version in place of the current key's. Lookup items of either
// kind are built from a Token by newKeyItem, so both are keyed the same way.
func previousKeyToken(t Token, prev PreviousKey) Token {
	t.KeyHash, t.KeyMAC, t.KeyVersion = prev.KeyHash, prev.KeyMAC, prev.KeyVersion
	return t
}

// previousKeyItem is t's current key as a previous key that works until end; the table's TTL
// removes the item some time after.
func previousKeyItem(t Token, end time.Time) keyItem {
	it := newKeyItem(t)
	it.Kind, it.GraceEndsAt, it.TTL = kindPreviousKey, formatTime(end), end.Unix()
	return it
}

// previousLookupKey is the key of t's previous key's lookup item.
func previousLookupKey(t Token) map[string]types.AttributeValue {
	return lookupKey(previousKeyToken(t, *t.PreviousKey))
}

// withPrevious adds upd to t's previous key's lookup item while its grace runs at now; nothing
// when no grace runs (the item then refuses the key whatever it holds, and the table's TTL may
// have removed it).
func (s *Store) withPrevious(b *tx, t Token, upd expression.UpdateBuilder, now time.Time) *tx {
	if t.PreviousKey == nil || !now.Before(t.PreviousKey.ExpiresAt) {
		return b
	}
	return b.update(previousLookupKey(t), upd, exists())
}

// removePrevious removes the previous key's fields from a token item.
func removePrevious(u expression.UpdateBuilder) expression.UpdateBuilder {
	return u.Remove(expression.Name("prevKeyMac")).Remove(expression.Name("prevKeyHash")).Remove(expression.Name("prevKeyVersion")).
		Remove(expression.Name("prevHint")).Remove(expression.Name("prevKeyExpiresAt"))
}

// sameKey holds a change to the token as it was read: still there, with the same key. A roll
// between the read and the write makes the change fail instead of writing to the lookup item
// of a key the token no longer has.
func sameKey(t Token) expression.ConditionBuilder {
	return expression.AttributeExists(expression.Name("pk")).
		And(expression.Name("keyMac").Equal(expression.Value(t.KeyMAC)))
}

// raced is the answer to a change of t whose conditions failed: ErrNotFound when the token is
// gone, ErrConflict when it is there but was changed meanwhile.
func (s *Store) raced(ctx context.Context, t Token, what string) error {
	_, err := s.Get(ctx, t.EnvironmentID, t.ID)
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("%s token %s: %w", what, t.ID, err)
	}
	return fmt.Errorf("%s token %s: %w", what, t.ID, ErrConflict)
}

// RevokePreviousKey ends t's previous key's grace now: the previous key's lookup item is
// deleted and the token forgets it, with an audit record. Without a grace running it changes
// nothing and returns t.
func (s *Store) RevokePreviousKey(ctx context.Context, t Token, actor Actor) (Token, error) {
	now := s.now()
	if t.PreviousKey == nil {
		return t, nil
	}
	if !now.Before(t.PreviousKey.ExpiresAt) {
		// Ended on its own: forget it without a record (nothing was revoked).
		return s.forgetPrevious(ctx, t, now, false, actor)
	}
	return s.forgetPrevious(ctx, t, now, true, actor)
}

func (s *Store) forgetPrevious(ctx context.Context, t Token, now time.Time, record bool, actor Actor) (Token, error) {
	cond := expression.AttributeExists(expression.Name("pk")).
		And(expression.Name("prevKeyMac").Equal(expression.Value(t.PreviousKey.KeyMAC)))
	b := s.tx().update(tokenKey(t), removePrevious(expression.Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))), &cond).
		delete(previousLookupKey(t), nil)
	if record {
		b = b.put(s.newAuditItem(t, ActionRevokePreviousKey, actor, map[string]string{"hint": t.PreviousKey.Hint}), nil)
	}
	items, err := b.items()
	if err != nil {
		return Token{}, fmt.Errorf("revoke previous key of %s: %w", t.ID, err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if _, ok := cancelReasons(err, len(items)); ok {
		// Revoked, rolled or deleted meanwhile: what is true now is the answer, when it has no
		// grace of that key left.
		cur, err := s.Get(ctx, t.EnvironmentID, t.ID)
		if err != nil {
			return Token{}, err
		}
		if cur.PreviousKey == nil || !hmac.Equal(cur.PreviousKey.KeyMAC, t.PreviousKey.KeyMAC) {
			return cur, nil
		}
		return Token{}, fmt.Errorf("revoke previous key of %s: %w", t.ID, ErrConflict)
	}
	if err != nil {
		return Token{}, fmt.Errorf("revoke previous key of %s: %w", t.ID, err)
	}
	t.PreviousKey, t.UpdatedAt = nil, now.UTC().Truncate(time.Second)
	return t, nil
}

func ptr(c expression.ConditionBuilder) *expression.ConditionBuilder { return &c }
