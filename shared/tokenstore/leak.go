package tokenstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// MarkLeaked records that t's key (its current or its previous one) was found in public, in
// one transaction: the token becomes inactive with the leak's URL, source and time, its lookup
// item inactive, any previous key's grace ends, and an audit record names the URL. A token
// already marked is returned as it is with changed false: a report repeated changes nothing
// more. Only a roll clears the mark (and the key it named).
func (s *Store) MarkLeaked(ctx context.Context, t Token, leak Leak, actor Actor) (Token, bool, error) {
	if t.Leak != nil {
		return t, false, nil
	}
	now := s.now().UTC().Truncate(time.Second)
	leak.ReportedAt = now
	status := expression.Name("status")
	upd := removePrevious(setStatus(expression.Set(expression.Name("updatedAt"), expression.Value(formatTime(now))), t, StatusInactive).
		Set(expression.Name("leakUrl"), expression.Value(leak.URL)).
		Set(expression.Name("leakSource"), expression.Value(leak.Source)).
		Set(expression.Name("leakReportedAt"), expression.Value(formatTime(now))))
	cond := sameKey(t).And(expression.AttributeNotExists(expression.Name("leakReportedAt")))
	audit := s.newAuditItem(t, ActionLeak, actor, map[string]string{"url": leak.URL, "source": leak.Source})
	b := s.tx().update(tokenKey(t), upd, &cond).
		update(lookupKey(t), expression.Set(status, expression.Value(StatusInactive)), exists())
	if t.PreviousKey != nil {
		b = b.delete(previousLookupKey(t), nil)
	}
	items, err := b.put(audit, nil).items()
	if err != nil {
		return Token{}, false, fmt.Errorf("mark token %s leaked: %w", t.ID, err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if _, ok := cancelReasons(err, len(items)); ok {
		if s.committed(ctx, audit) {
			return marked(t, leak, now), true, nil
		}
		cur, gerr := s.Get(ctx, t.EnvironmentID, t.ID)
		if gerr != nil {
			return Token{}, false, gerr
		}
		if cur.Leak != nil {
			return cur, false, nil
		}
		return Token{}, false, fmt.Errorf("mark token %s leaked: %w", t.ID, ErrConflict)
	}
	if err != nil {
		return Token{}, false, fmt.Errorf("mark token %s leaked: %w", t.ID, err)
	}
	return marked(t, leak, now), true, nil
}

func marked(t Token, leak Leak, now time.Time) Token {
	t.Status, t.UpdatedAt, t.Leak, t.PreviousKey = StatusInactive, now, &leak, nil
	return t
}
