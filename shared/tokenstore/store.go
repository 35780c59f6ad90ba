package tokenstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apitokens/apitokens/shared/ids"
)

// DynamoDB is the part of the DynamoDB client that the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is the table model. It is safe for concurrent use.
type Store struct {
	db    DynamoDB
	table string
	now   func() time.Time
}

// New returns a Store over the named table that reads the time from now (time.Now in a
// function).
func New(db DynamoDB, table string, now func() time.Time) *Store {
	return &Store{db: db, table: table, now: now}
}

// Create stores a new token with its lookup item and an audit record, and counts it against its
// owner's limit, all in one transaction. It returns ErrLimitReached when the owner already holds
// limit tokens.
func (s *Store) Create(ctx context.Context, t Token, limit int, actor Actor) error {
	_, _, err := s.create(ctx, t, limit, actor, nil)
	return err
}

// CreateIdempotent is Create for a request that carries an Idempotency-Key: the same
// transaction also stores an idempotency record of the token's owner and the key, holding the
// token's id and a SHA-256 of the request, for IdempotencyRetention. A repeat within that time
// stores nothing: with the same request it returns the token the first one made (as it is now)
// and replayed true; with another request ErrIdempotencyMismatch; once that token is deleted
// ErrIdempotentTokenDeleted. Of concurrent requests with one key, one stores a token and the
// others answer it (or, when DynamoDB refuses them before the first commits, ErrConflict).
func (s *Store) CreateIdempotent(ctx context.Context, t Token, limit int, actor Actor, idem Idempotency) (Token, bool, error) {
	return s.create(ctx, t, limit, actor, &idem)
}

func (s *Store) create(ctx context.Context, t Token, limit int, actor Actor, idem *Idempotency) (Token, bool, error) {
	if err := storable("expiry", t.ExpiresAt); err != nil {
		return Token{}, false, fmt.Errorf("create token: %w", err)
	}
	now := s.now()
	count := expression.Name("count")
	underLimit := expression.Or(expression.AttributeNotExists(count), count.LessThan(expression.Value(limit)))
	detail := map[string]string{"name": t.Name, "type": string(t.Type)}
	if t.RateLimit != nil || t.Quota != nil {
		detail["rateLimit"], detail["quota"] = limitDetail(t.RateLimit), limitDetail(t.Quota)
	}
	audit := s.newAuditItem(t, ActionCreate, actor, detail)
	b := s.tx().put(newTokenItem(t), absent()).put(newKeyItem(t), absent()).
		update(ItemKey(envPK(t.EnvironmentID), countSK(t.UserID)),
			expression.Add(count, expression.Value(1)).Set(expression.Name("kind"), expression.Value(kindCount)), &underLimit).
		put(audit, nil).put(userEnvironmentItem(t.UserID, t.EnvironmentID), nil)
	if t.ExpiresAt != nil {
		b.put(newExpiryItem(t), nil) // found by the day it expires (expiry.go)
	}
	record := b.putIdem(t, idem, now)
	items, err := b.items()
	if err != nil {
		return Token{}, false, fmt.Errorf("create token: %w", err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reasons, ok := cancelReasons(err, len(items)); ok {
		return s.createRefused(ctx, t, reasons, audit, record)
	}
	if err != nil {
		return Token{}, false, fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return t, false, nil
}

// createRefused answers a create whose transaction was cancelled, from its reasons.
func (s *Store) createRefused(ctx context.Context, t Token, reasons []string, audit auditItem, record *idemItem) (Token, bool, error) {
	// A live record of another token: the key was used before, by an earlier request (or a
	// concurrent one that committed first). Its answer is the answer; nothing is stored. A
	// record that names this call's own token is not a repeat but this call's own commit,
	// which the check below tells.
	if record != nil {
		if prev, found, err := s.readIdemRecord(ctx, ItemKey(record.PK, record.SK)); err != nil {
			return Token{}, false, fmt.Errorf("create token %s: %w", t.ID, err)
		} else if found && prev.live(s.now()) && prev.TokenID != t.ID {
			got, err := s.replay(ctx, t, prev, record.RequestHash)
			return got, err == nil, err
		}
	}
	// The token's id is new, so only this call can have stored it: an earlier attempt
	// committed and its answer was lost, and the retry was refused on the conditions that
	// attempt made true (over the limit, too, when it took the last slot).
	if reasons[0] == conditionFailed && s.committed(ctx, audit) {
		return t, false, nil
	}
	if reasons[2] == conditionFailed {
		return Token{}, false, ErrLimitReached
	}
	return Token{}, false, fmt.Errorf("create token %s: %w", t.ID, ErrConflict)
}

// putIdem adds the idempotency record of t made with idem at now, when there is one, and returns
// it. Its put succeeds while the user has no record of the key, or only one past
// IdempotencyRetention that the table's TTL has not removed yet.
func (b *tx) putIdem(t Token, idem *Idempotency, now time.Time) *idemItem {
	if idem == nil {
		return nil
	}
	record := newIdemItem(t, *idem, now)
	unused := expression.Or(expression.AttributeNotExists(expression.Name("pk")),
		expression.Name("ttl").LessThanEqual(expression.Value(now.Unix())))
	b.put(record, &unused)
	return record
}

// newIdemItem is the idempotency record of t made with idem at now.
func newIdemItem(t Token, idem Idempotency, now time.Time) *idemItem {
	keySum, reqSum := sha256.Sum256([]byte(idem.Key)), sha256.Sum256(idem.Request)
	return &idemItem{
		PK: envPK(t.EnvironmentID), SK: idemSK(t.UserID, hex.EncodeToString(keySum[:])), Kind: kindIdem,
		TokenID: t.ID, RequestHash: hex.EncodeToString(reqSum[:]),
		CreatedAt: formatTime(now), TTL: now.Add(IdempotencyRetention).Unix(),
	}
}

// readIdemRecord reads an idempotency record with a strongly consistent read.
func (s *Store) readIdemRecord(ctx context.Context, key map[string]types.AttributeValue) (idemItem, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return idemItem{}, false, fmt.Errorf("read idempotency record: %w", err)
	}
	if out.Item == nil {
		return idemItem{}, false, nil
	}
	var it idemItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return idemItem{}, false, fmt.Errorf("read idempotency record: %w", err)
	}
	return it, true, nil
}

// replay answers a repeated create from the record of the first: the token it made, if the
// request is the same and the token still exists.
func (s *Store) replay(ctx context.Context, t Token, prev idemItem, requestHash string) (Token, error) {
	if prev.RequestHash != requestHash {
		return Token{}, ErrIdempotencyMismatch
	}
	got, err := s.Get(ctx, t.EnvironmentID, prev.TokenID)
	if errors.Is(err, ErrNotFound) || (err == nil && got.UserID != t.UserID) {
		return Token{}, ErrIdempotentTokenDeleted
	}
	if err != nil {
		return Token{}, fmt.Errorf("replay create of %s: %w", prev.TokenID, err)
	}
	return got, nil
}

// Get reads one token of an environment with a strongly consistent read, or ErrNotFound.
func (s *Store) Get(ctx context.Context, env, id string) (Token, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: ItemKey(envPK(env), tokenSK(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Token{}, fmt.Errorf("get token %s: %w", id, err)
	}
	if out.Item == nil {
		return Token{}, ErrNotFound
	}
	var it tokenItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Token{}, fmt.Errorf("get token %s: %w", id, err)
	}
	t, err := it.token()
	if err != nil {
		return Token{}, fmt.Errorf("get token %s: %w", id, err)
	}
	return t, nil
}

// ListQuery selects tokens of one environment.
type ListQuery struct {
	EnvironmentID string
	// OwnerID limits the list to one user's tokens; empty lists every user's.
	OwnerID string
	// State is "", "active", "inactive" or "expired".
	State string
	Limit int
	// StartKey continues from a previous page's LastKey.
	StartKey map[string]string
}

// TokenPage is one page of tokens, newest first.
type TokenPage struct {
	Tokens  []Token
	LastKey map[string]string // nil on the last page
}

// List returns a page of tokens, newest first: limit tokens and a LastKey while more match, so
// that every page but the last is full. A StartKey that does not belong to the query's
// partition gives ErrBadCursor, so a cursor can never widen what the caller reads.
//
// The environment's tokens of one status are read from gsi2, whose key holds the stored status;
// one user's are read from gsi1, a partition of at most the token limit. What no key can hold is
// filtered after the read: the stored status within one user's tokens, and "expired" (an active
// token past its expiry, which no write marks). Filtered queries read on until the page is full
// or the partition ends.
func (s *Store) List(ctx context.Context, q ListQuery) (TokenPage, error) {
	in, keyNames, err := s.listInput(q)
	if err != nil {
		return TokenPage{}, err
	}
	// One item more than the page tells whether another page follows, so the last page never
	// comes with a cursor to an empty one.
	want := q.Limit + 1
	var raw []map[string]types.AttributeValue
	for {
		if in.FilterExpression == nil {
			in.Limit = aws.Int32(int32(want - len(raw)))
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return TokenPage{}, fmt.Errorf("list tokens: %w", err)
		}
		raw = append(raw, out.Items...)
		if len(out.LastEvaluatedKey) == 0 || len(raw) >= want {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	var page TokenPage
	if len(raw) > q.Limit {
		raw = raw[:q.Limit]
		page.LastKey = itemKey(raw[len(raw)-1], keyNames)
	}
	if page.Tokens, err = appendTokens(nil, raw); err != nil {
		return TokenPage{}, fmt.Errorf("list tokens: %w", err)
	}
	return page, nil
}

// itemKey is the key of item in a query over the named key attributes, as a cursor carries it.
func itemKey(item map[string]types.AttributeValue, names []string) map[string]string {
	k := make(map[string]types.AttributeValue, len(names))
	for _, n := range names {
		k[n] = item[n]
	}
	return PageKey(k)
}

// listInput is the first query of a List: one user's tokens through gsi1, the environment's of
// one stored status through gsi2, or the environment's from the table; filtered as the key
// cannot; from q's start key, which must be one such a query left. It also names the key
// attributes of a page's last key.
func (s *Store) listInput(q ListQuery) (*dynamodb.QueryInput, []string, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, ScanIndexForward: aws.Bool(false)}
	env := envPK(q.EnvironmentID)
	var keyCond expression.KeyConditionBuilder
	keyNames, part, partValue := []string{"pk", "sk"}, "pk", env
	stored, byIndex := storedStatus(q.State)
	switch {
	case q.OwnerID != "":
		in.IndexName = aws.String("gsi1")
		keyNames, part, partValue = append(keyNames, "gsi1pk", "gsi1sk"), "gsi1pk", ownerPK(q.EnvironmentID, q.OwnerID)
		keyCond = expression.Key(part).Equal(expression.Value(partValue))
		byIndex = false
	case byIndex:
		in.IndexName = aws.String("gsi2")
		keyNames, part, partValue = append(keyNames, "gsi2pk", "gsi2sk"), "gsi2pk", statusPK(q.EnvironmentID, stored)
		keyCond = expression.Key(part).Equal(expression.Value(partValue))
	default:
		in.ConsistentRead = aws.Bool(true)
		keyCond = expression.Key("pk").Equal(expression.Value(env)).
			And(expression.Key("sk").BeginsWith("TOKEN#"))
	}
	if q.StartKey != nil && !fromQuery(q.StartKey, keyNames, env, part, partValue) {
		return nil, nil, ErrBadCursor
	}
	b := expression.NewBuilder().WithKeyCondition(keyCond)
	if filter, ok := stateFilter(q.State, byIndex, s.now()); ok {
		b = b.WithFilter(filter)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, nil, fmt.Errorf("list tokens: %w", err)
	}
	in.KeyConditionExpression, in.FilterExpression = expr.KeyCondition(), expr.Filter()
	in.ExpressionAttributeNames, in.ExpressionAttributeValues = expr.Names(), expr.Values()
	in.ExclusiveStartKey = StartKey(q.StartKey)
	return in, keyNames, nil
}

// fromQuery reports whether a start key is a token's key that the query could have left: the
// key attributes it names and no others, the caller's environment, and the partition queried.
func fromQuery(k map[string]string, names []string, env, part, partValue string) bool {
	if len(k) != len(names) || k["pk"] != env || !strings.HasPrefix(k["sk"], "TOKEN#") || k[part] != partValue {
		return false
	}
	for _, n := range names {
		if _, ok := k[n]; !ok {
			return false
		}
	}
	return true
}

// appendTokens appends the tokens of a query's token items to tokens.
func appendTokens(tokens []Token, raw []map[string]types.AttributeValue) ([]Token, error) {
	var items []tokenItem
	if err := attributevalue.UnmarshalListOfMaps(raw, &items); err != nil {
		return tokens, err
	}
	for _, it := range items {
		t, err := it.token()
		if err != nil {
			return tokens, err
		}
		tokens = append(tokens, t)
	}
	return tokens, nil
}

// storedStatus is the status stored for tokens in a state, and whether the state asks for one:
// "active" and "expired" are both stored active.
func storedStatus(state string) (Status, bool) {
	switch state {
	case string(StatusActive), StateExpired:
		return StatusActive, true
	case string(StatusInactive):
		return StatusInactive, true
	}
	return "", false
}

// stateFilter is what a state asks of a token beyond its key: the stored status unless the key
// holds it (keyed), and whether the expiry has passed at now.
func stateFilter(state string, keyed bool, now time.Time) (expression.ConditionBuilder, bool) {
	stored, ok := storedStatus(state)
	if !ok {
		return expression.ConditionBuilder{}, false
	}
	expires, at := expression.Name("expiresAt"), expression.Value(formatTime(now))
	var conds []expression.ConditionBuilder
	if !keyed {
		conds = append(conds, expression.Name("status").Equal(expression.Value(stored)))
	}
	switch state {
	case string(StatusActive):
		conds = append(conds, expression.Or(expression.AttributeNotExists(expires), expires.GreaterThan(at)))
	case StateExpired:
		conds = append(conds, expires.LessThanEqual(at))
	}
	switch len(conds) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return conds[0], true
	}
	return expression.And(conds[0], conds[1]), true
}

// setStatus sets a token item's status and the gsi2 key that lists it under that status: every
// write that changes a status goes through it, so the two never disagree.
func setStatus(upd expression.UpdateBuilder, t Token, to Status) expression.UpdateBuilder {
	return upd.Set(expression.Name("status"), expression.Value(to)).
		Set(expression.Name("gsi2pk"), expression.Value(statusPK(t.EnvironmentID, to)))
}

// Rename changes a token's name on the token and its lookup items, with an audit record (Edit
// with the name alone). A token deleted meanwhile gives ErrNotFound and is not brought back.
func (s *Store) Rename(ctx context.Context, t Token, name string, actor Actor) (Token, error) {
	next := t
	next.Name = name
	return s.Edit(ctx, t, next, actor)
}

// SetStatus deactivates or activates a token. Both are idempotent: a token already in the wanted
// status is returned as it is, without a write or an audit record. Activating an expired token
// gives ErrExpired.
func (s *Store) SetStatus(ctx context.Context, t Token, to Status, actor Actor) (Token, error) {
	return s.setStatus(ctx, t, to, actor, nil)
}

// setStatus is SetStatus with detail for the audit record.
func (s *Store) setStatus(ctx context.Context, t Token, to Status, actor Actor, detail map[string]string) (Token, error) {
	now := s.now()
	if to == StatusActive && t.Expired(now) {
		return Token{}, ErrExpired // whether or not it was ever deactivated: it cannot be active
	}
	if t.Status == to {
		return t, nil
	}
	if to == StatusActive && t.Leak != nil {
		return Token{}, ErrKeyLeaked
	}
	status := expression.Name("status")
	cond := sameKey(t).And(status.Equal(expression.Value(t.Status)))
	action := ActionDeactivate
	if to == StatusActive {
		action = ActionActivate
		cond = cond.And(expression.AttributeNotExists(expression.Name("leakReportedAt")))
		expires := expression.Name("expiresAt")
		cond = cond.And(expression.Or(expression.AttributeNotExists(expires),
			expires.GreaterThan(expression.Value(formatTime(now)))))
	}
	b := s.tx().
		update(tokenKey(t), setStatus(expression.Set(expression.Name("updatedAt"), expression.Value(formatTime(now))), t, to), &cond).
		update(lookupKey(t), expression.Set(status, expression.Value(to)), exists()).
		put(s.newAuditItem(t, action, actor, detail), nil)
	items, err := s.withPrevious(b, t, expression.Set(status, expression.Value(to)), now).items()
	if err == nil {
		err = s.transact(ctx, items...)
	}
	if errors.Is(err, ErrNotFound) {
		return s.statusRefused(ctx, t, to)
	}
	if err != nil {
		return Token{}, fmt.Errorf("set token %s %s: %w", t.ID, to, err)
	}
	t.Status, t.UpdatedAt = to, now.UTC().Truncate(time.Second)
	return t, nil
}

// statusRefused answers a status change whose condition failed: the token was deleted, changed
// by a racing request, or expired meanwhile. It reads the token again and answers what is true
// now.
func (s *Store) statusRefused(ctx context.Context, t Token, to Status) (Token, error) {
	cur, err := s.Get(ctx, t.EnvironmentID, t.ID)
	switch {
	case err != nil:
		return Token{}, err
	case cur.Status == to:
		return cur, nil
	case to == StatusActive && cur.Expired(s.now()):
		return Token{}, ErrExpired
	case to == StatusActive && cur.Leak != nil:
		return Token{}, ErrKeyLeaked
	}
	return Token{}, fmt.Errorf("set token %s %s: %w", t.ID, to, ErrConflict)
}

// Delete removes a token and its lookup item for good, gives its slot back to the owner's limit
// and records it. Of two racing deletes, one succeeds and the other gets ErrNotFound.
func (s *Store) Delete(ctx context.Context, t Token, actor Actor) error {
	audit := s.newAuditItem(t, ActionDelete, actor, map[string]string{"name": t.Name})
	b := s.tx().delete(tokenKey(t), ptr(sameKey(t))).delete(lookupKey(t), nil).
		update(ItemKey(envPK(t.EnvironmentID), countSK(t.UserID)), expression.Add(expression.Name("count"), expression.Value(-1)), nil).
		put(audit, nil)
	if t.PreviousKey != nil {
		b = b.delete(previousLookupKey(t), nil)
	}
	items, err := b.items()
	if err == nil {
		err = s.transact(ctx, items...)
	}
	if errors.Is(err, ErrNotFound) && s.committed(ctx, audit) {
		return nil // this call deleted it; only the answer to an earlier attempt was lost
	}
	if errors.Is(err, ErrNotFound) {
		err = s.raced(ctx, t, "delete")
	}
	if err != nil {
		return fmt.Errorf("delete token %s: %w", t.ID, err)
	}
	return nil
}

// Count returns how many tokens a user holds, as the limit sees it.
func (s *Store) Count(ctx context.Context, env, user string) (int, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: ItemKey(envPK(env), countSK(user)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	var it struct {
		Count int `dynamodbav:"count"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return it.Count, nil
}

// LookupKey reads the lookup item of a key by its hash (apikey.Hash) with one strongly
// consistent GetItem, or ErrNotFound. The caller checks the record's KeyMAC.
func (s *Store) LookupKey(ctx context.Context, hash []byte) (KeyRecord, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: ItemKey(keyPK(hash), keySK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return KeyRecord{}, fmt.Errorf("look up key: %w", err)
	}
	if out.Item == nil {
		return KeyRecord{}, ErrNotFound
	}
	var it keyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return KeyRecord{}, fmt.Errorf("look up key: %w", err)
	}
	rec, err := it.record()
	if err != nil {
		return KeyRecord{}, fmt.Errorf("look up key: %w", err)
	}
	return rec, nil
}

// LastUsedAttributes returns the only attributes TouchLastUsed names: the item's key and
// lastUsedAt. The key authorizer's role may update these and nothing else (template.yaml, the
// dynamodb:Attributes condition of its UpdateItem), on items whose partition key begins with
// LastUsedPartitionPrefix (its dynamodb:LeadingKeys condition).
func LastUsedAttributes() []string { return []string{"pk", "sk", lastUsedAttribute} }

// LastUsedPartitionPrefix begins the partition key of every item TouchLastUsed writes.
const LastUsedPartitionPrefix = "ENV#"

const lastUsedAttribute = "lastUsedAt"

// TouchLastUsed sets a token's lastUsedAt to at unless it was set within every; the condition
// makes this hold across every running copy of the authorizer. It reports whether it wrote.
func (s *Store) TouchLastUsed(ctx context.Context, env, tokenID string, at time.Time, every time.Duration) (bool, error) {
	last := expression.Name(lastUsedAttribute)
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(last, expression.Value(formatTime(at)))).
		WithCondition(expression.AttributeExists(expression.Name("pk")).And(expression.Or(
			expression.AttributeNotExists(last),
			last.LessThanEqual(expression.Value(formatTime(at.Add(-every))))))).
		Build()
	if err != nil {
		return false, fmt.Errorf("touch token %s: %w", tokenID, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: ItemKey(envPK(env), tokenSK(tokenID)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("touch token %s: %w", tokenID, err)
	}
	return true, nil
}

// RecordAudit stores an audit record for an action that changes no item, such as a reveal.
func (s *Store) RecordAudit(ctx context.Context, t Token, action Action, actor Actor) error {
	item, err := attributevalue.MarshalMap(s.newAuditItem(t, action, actor, nil))
	if err == nil {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	}
	if err != nil {
		return fmt.Errorf("audit %s of token %s: %w", action, t.ID, err)
	}
	return nil
}

// AuditPage is one page of a token's history, newest first.
type AuditPage struct {
	Records []AuditRecord
	LastKey map[string]string
}

// ListAudit returns a page of a token's audit records, newest first.
func (s *Store) ListAudit(ctx context.Context, env, tokenID string, limit int, start map[string]string) (AuditPage, error) {
	items, last, err := queryNewest[auditItem](ctx, s, auditPK(env, tokenID), "", limit, start)
	if err != nil {
		return AuditPage{}, fmt.Errorf("list audit of %s: %w", tokenID, err)
	}
	page := AuditPage{LastKey: last}
	for _, it := range items {
		rec, err := it.record()
		if err != nil {
			return AuditPage{}, fmt.Errorf("list audit of %s: %w", tokenID, err)
		}
		page.Records = append(page.Records, rec)
	}
	return page, nil
}

// queryNewest reads a page of partition pk's items whose sort key begins with skPrefix ("" for
// every item), newest first and strongly consistent, decoded as T; a start key of another
// partition or prefix is ErrBadCursor. It is what every list of one partition shares.
func queryNewest[T any](ctx context.Context, s *Store, pk, skPrefix string, limit int, start map[string]string) ([]T, map[string]string, error) {
	if start != nil && (start["pk"] != pk || len(start) != 2 || !strings.HasPrefix(start["sk"], skPrefix)) {
		return nil, nil, ErrBadCursor
	}
	key := expression.Key("pk").Equal(expression.Value(pk))
	if skPrefix != "" {
		key = key.And(expression.Key("sk").BeginsWith(skPrefix))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return nil, nil, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(limit)),
		ExclusiveStartKey: StartKey(start), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, nil, err
	}
	var items []T
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, nil, err
	}
	return items, PageKey(out.LastEvaluatedKey), nil
}

// newAuditItem is the audit record of action done to t by actor, now.
func (s *Store) newAuditItem(t Token, action Action, actor Actor, detail map[string]string) auditItem {
	now := s.now()
	id := ids.New(ids.Audit, now)
	return auditItem{
		PK: auditPK(t.EnvironmentID, t.ID), SK: id, Kind: kindAudit, ID: id,
		TokenID: t.ID, EnvironmentID: t.EnvironmentID, Action: string(action),
		ActorID: actor.UserID, OwnerID: t.UserID, SourceIP: actor.SourceIP, UserAgent: actor.UserAgent,
		At: formatTime(now), Detail: detail, TTL: now.Add(AuditRetention).Unix(),
	}
}

// committed reports whether the transaction that carried audit is stored. The SDK retries a
// transaction whose answer was lost with the same ClientRequestToken; DynamoDB answers such a
// retry as the success it was, but an emulator that ignores the token runs it again and cancels
// it on the conditions the first attempt made true. The audit record's id is made for one call,
// so finding it tells that this call's own transaction committed.
func (s *Store) committed(ctx context.Context, audit auditItem) bool {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: ItemKey(audit.PK, audit.SK), ConsistentRead: aws.Bool(true),
	})
	return err == nil && out.Item != nil
}

// tokenKey is the key of t's own item; lookupKey that of its key lookup item.
func tokenKey(t Token) map[string]types.AttributeValue {
	return ItemKey(envPK(t.EnvironmentID), tokenSK(t.ID))
}
func lookupKey(t Token) map[string]types.AttributeValue { return ItemKey(keyPK(t.KeyHash), keySK) }

// transact runs a transaction whose first item is the token's own write: when that item's
// condition fails the token is gone (or not as expected) and the result is ErrNotFound.
func (s *Store) transact(ctx context.Context, items ...types.TransactWriteItem) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reasons, ok := cancelReasons(err, len(items)); ok {
		if reasons[0] == conditionFailed {
			return ErrNotFound
		}
		return ErrConflict
	}
	return err
}

const conditionFailed = "ConditionalCheckFailed"

// cancelReasons returns the reason codes of a cancelled transaction of items items, one per item
// in the order they were sent: "" where DynamoDB gave none, so that any item's reason can be
// read whatever the answer held.
func cancelReasons(err error, items int) ([]string, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	codes := make([]string, items)
	for i, r := range tce.CancellationReasons {
		if i < len(codes) {
			codes[i] = aws.ToString(r.Code)
		}
	}
	return codes, true
}

// ItemKey is the primary key of an item of the table.
func ItemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

// StartKey turns a page's last key, as a cursor carries it, back into DynamoDB's form.
func StartKey(k map[string]string) map[string]types.AttributeValue {
	if k == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(k))
	for name, v := range k {
		out[name] = &types.AttributeValueMemberS{Value: v}
	}
	return out
}

// PageKey turns DynamoDB's LastEvaluatedKey into plain strings for a cursor; nil when there is
// no next page. Every key attribute of the table is a string.
func PageKey(k map[string]types.AttributeValue) map[string]string {
	if len(k) == 0 {
		return nil
	}
	out := make(map[string]string, len(k))
	for name, v := range k {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out[name] = s.Value
		}
	}
	return out
}
