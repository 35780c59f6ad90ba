package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apitokens/apitokens/shared/policy"
)

// sameRevision holds a change to what t's lookup items copy to t as it was read.
func sameRevision(t Token) expression.ConditionBuilder {
	rev := expression.Name("rev")
	if t.Revision == 0 {
		return expression.AttributeNotExists(rev)
	}
	return rev.Equal(expression.Value(t.Revision))
}

// setList sets the attribute name to list, or removes it for nil.
func setList(u expression.UpdateBuilder, name string, list []string) expression.UpdateBuilder {
	if list == nil {
		return u.Remove(expression.Name(name))
	}
	return u.Set(expression.Name(name), expression.Value(list))
}

// listDetail is a list as an audit record's detail shows it: "null" for nil.
func listDetail(list []string) string {
	if list == nil {
		return "null"
	}
	return "[" + strings.Join(list, " ") + "]"
}

// setLimits sets t's rate limit and quota attributes, or removes those t has none of.
func setLimits(u expression.UpdateBuilder, t Token) expression.UpdateBuilder {
	a := limitAttrsOf(t.RateLimit, t.Quota)
	for _, n := range []struct {
		name string
		v    int
	}{{attrRateRequests, a.RateRequests}, {attrRateWindow, a.RateWindowSeconds}, {attrQuota, a.QuotaPerMonth}} {
		if n.v == 0 {
			u = u.Remove(expression.Name(n.name))
		} else {
			u = u.Set(expression.Name(n.name), expression.Value(n.v))
		}
	}
	return u
}

// limitDetail is a limit as an audit record's detail shows it: "30/60s", "40/month", "null".
func limitDetail[L interface{ String() string }](l *L) string {
	if l == nil {
		return "null"
	}
	return (*l).String()
}

func sameRateLimit(a, b *policy.RateLimit) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
func sameQuota(a, b *policy.Quota) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func sameList(a, b []string) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Edit gives t next's name, permissions, allowed addresses, rate limit and quota, on the token,
// its lookup item and its previous key's (while a grace runs), with one audit record: "rename"
// when only the name changes, "edit" otherwise. Nothing differs: nothing is written. A change made meanwhile gives
// ErrConflict, a delete ErrNotFound.
func (s *Store) Edit(ctx context.Context, t, next Token, actor Actor) (Token, error) {
	detail := map[string]string{}
	if next.Name != t.Name {
		detail["from"], detail["to"] = t.Name, next.Name
	}
	action := ActionRename
	if !sameList(t.Permissions, next.Permissions) {
		detail["permissions"], action = listDetail(next.Permissions), ActionEdit
	}
	if !sameList(t.AllowedCIDRs, next.AllowedCIDRs) {
		detail["allowedCidrs"], action = listDetail(next.AllowedCIDRs), ActionEdit
	}
	if !sameRateLimit(t.RateLimit, next.RateLimit) {
		detail["rateLimit"], action = limitDetail(next.RateLimit), ActionEdit
	}
	if !sameQuota(t.Quota, next.Quota) {
		detail["quota"], action = limitDetail(next.Quota), ActionEdit
	}
	if len(detail) == 0 {
		return t, nil
	}
	now := s.now()
	copied := setLimits(setList(setList(expression.Set(expression.Name("name"), expression.Value(next.Name)),
		"permissions", next.Permissions), "allowedCidrs", next.AllowedCIDRs), next)
	own := copied.Set(expression.Name("updatedAt"), expression.Value(formatTime(now))).
		Add(expression.Name("rev"), expression.Value(1))
	audit := s.newAuditItem(t, action, actor, detail)
	b := s.tx().
		update(tokenKey(t), own, ptr(sameKey(t).And(sameRevision(t)))).
		update(lookupKey(t), copied, exists()).
		put(audit, nil)
	items, err := s.withPrevious(b, t, copied, now).items()
	if err == nil {
		err = s.transact(ctx, items...)
	}
	if errors.Is(err, ErrNotFound) && s.committed(ctx, audit) {
		err = nil // this call edited it; only the answer to an earlier attempt was lost
	}
	if errors.Is(err, ErrNotFound) {
		err = s.raced(ctx, t, "edit")
	}
	if err != nil {
		return Token{}, fmt.Errorf("edit token %s: %w", t.ID, err)
	}
	t.Name, t.Permissions, t.AllowedCIDRs = next.Name, next.Permissions, next.AllowedCIDRs
	t.RateLimit, t.Quota = next.RateLimit, next.Quota
	t.UpdatedAt, t.Revision = now.UTC().Truncate(time.Second), t.Revision+1
	return t, nil
}

// Transfer hands t to user to of its environment, keeping its key: ciphertext is the key sealed
// again for the new owner (the old one no longer opens it). In one transaction the token and
// its lookup items name the new owner, the old owner's count gives the slot back and the new
// owner's takes it (ErrLimitReached when the new owner holds limit tokens), and an audit
// record names both. The owner's role is no longer known: the policy treats a User token as an
// agent's from then on.
func (s *Store) Transfer(ctx context.Context, t Token, to string, ciphertext []byte, limit int, actor Actor) (Token, error) {
	if to == t.UserID {
		return t, nil
	}
	now := s.now()
	next := t
	next.UserID, next.KeyCiphertext, next.OwnerRole = to, ciphertext, ""
	next.UpdatedAt, next.Revision = now.UTC().Truncate(time.Second), t.Revision+1
	copied := expression.Set(expression.Name("userId"), expression.Value(to)).Remove(expression.Name("ownerRole"))
	own := copied.Set(expression.Name("gsi1pk"), expression.Value(ownerPK(t.EnvironmentID, to))).
		Set(expression.Name("keyCiphertext"), expression.Value(ciphertext)).
		Set(expression.Name("updatedAt"), expression.Value(formatTime(now))).
		Add(expression.Name("rev"), expression.Value(1))
	count := expression.Name("count")
	underLimit := expression.Or(expression.AttributeNotExists(count), count.LessThan(expression.Value(limit)))
	audit := s.newAuditItem(next, ActionTransfer, actor, map[string]string{"from": t.UserID, "to": to})
	b := s.tx().
		update(tokenKey(t), own, ptr(sameKey(t).And(sameRevision(t)))).
		update(ItemKey(envPK(t.EnvironmentID), countSK(to)),
			expression.Add(count, expression.Value(1)).Set(expression.Name("kind"), expression.Value(kindCount)), &underLimit).
		update(ItemKey(envPK(t.EnvironmentID), countSK(t.UserID)), expression.Add(count, expression.Value(-1)), nil).
		update(lookupKey(t), copied, exists()).
		put(userEnvironmentItem(to, t.EnvironmentID), nil).
		put(audit, nil)
	items, err := s.withPrevious(b, t, copied, now).items()
	if err != nil {
		return Token{}, fmt.Errorf("transfer token %s: %w", t.ID, err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reasons, ok := cancelReasons(err, len(items)); ok {
		if s.committed(ctx, audit) {
			return next, nil
		}
		if reasons[1] == conditionFailed && reasons[0] != conditionFailed {
			return Token{}, ErrLimitReached
		}
		return Token{}, s.raced(ctx, t, "transfer")
	}
	if err != nil {
		return Token{}, fmt.Errorf("transfer token %s: %w", t.ID, err)
	}
	return next, nil
}

// deactivateWorkers bounds the suspensions DeactivateUser runs at once: a user may hold hundreds
// of tokens, one transaction each, and a function has seconds.
const deactivateWorkers = 8

// DeactivateUser suspends every active token of one user of an environment, each with its own
// audit record (detail reason), and returns the tokens it suspended, as they are now (those it
// suspended before an error too). Tokens already inactive are left as they are. It reads the
// user's tokens through gsi1, which lags writes by up to a second: a token created that moment
// before may be missed.
func (s *Store) DeactivateUser(ctx context.Context, env, user, reason string, actor Actor) ([]Token, error) {
	var done []Token
	q := ListQuery{EnvironmentID: env, OwnerID: user, Limit: 100}
	for {
		page, err := s.List(ctx, q)
		if err != nil {
			return done, fmt.Errorf("deactivate tokens of %s: %w", user, err)
		}
		suspended, err := s.deactivateAll(ctx, page.Tokens, reason, actor)
		done = append(done, suspended...)
		if err != nil {
			return done, fmt.Errorf("deactivate tokens of %s: %w", user, err)
		}
		if page.LastKey == nil {
			return done, nil
		}
		q.StartKey = page.LastKey
	}
}

// deactivateAll suspends the active tokens among toks, deactivateWorkers at a time, and returns
// those it suspended and the first error.
func (s *Store) deactivateAll(ctx context.Context, toks []Token, reason string, actor Actor) ([]Token, error) {
	var (
		mu       sync.Mutex
		done     []Token
		firstErr error
		wg       sync.WaitGroup
	)
	slots := make(chan struct{}, deactivateWorkers)
	for _, t := range toks {
		if t.Status != StatusActive {
			continue
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			next, err := s.setStatus(ctx, t, StatusInactive, actor, map[string]string{"reason": reason})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrNotFound): // deleted meanwhile
			case err != nil && firstErr == nil:
				firstErr = err
			case err == nil:
				done = append(done, next)
			}
		}()
	}
	wg.Wait()
	return done, firstErr
}

type userEnvItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	Kind          string `dynamodbav:"kind"`
	EnvironmentID string `dynamodbav:"environmentId"`
}

// userEnvironmentItem records that user holds or held a token in env.
func userEnvironmentItem(user, env string) userEnvItem {
	return userEnvItem{PK: userPK(user), SK: envPK(env), Kind: kindUserEnvironment, EnvironmentID: env}
}

// UserEnvironments returns the environments where user holds or held tokens (made or handed
// over since that was recorded), for a user who left the identity provider.
func (s *Store) UserEnvironments(ctx context.Context, user string) ([]string, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(userPK(user)))).Build()
	if err != nil {
		return nil, fmt.Errorf("environments of %s: %w", user, err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true),
	}
	var envs []string
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("environments of %s: %w", user, err)
		}
		var items []struct {
			Env string `dynamodbav:"environmentId"`
		}
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
			return nil, fmt.Errorf("environments of %s: %w", user, err)
		}
		for _, it := range items {
			envs = append(envs, it.Env)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return envs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
