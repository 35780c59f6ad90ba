package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dayFormat names a UTC day in the key of the expiry items.
const dayFormat = "2006-01-02"

// expiryItem files a token under the day its key expires, so that the keys expiring soon are
// found by a Query on a few days, never a Scan. It is written with the token and kept a week
// past the expiry; a token deleted meanwhile leaves it behind, and its reader checks the token.
type expiryItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	Kind          string `dynamodbav:"kind"`
	TokenID       string `dynamodbav:"tokenId"`
	EnvironmentID string `dynamodbav:"environmentId"`
	ExpiresAt     string `dynamodbav:"expiresAt"`
	NotifiedAt    string `dynamodbav:"notifiedAt,omitempty"`
	TTL           int64  `dynamodbav:"ttl"`
}

func newExpiryItem(t Token) expiryItem {
	return expiryItem{
		PK: expiresPK(t.ExpiresAt.UTC().Format(dayFormat)), SK: expiresSK(t.EnvironmentID, t.ID), Kind: kindExpiry,
		TokenID: t.ID, EnvironmentID: t.EnvironmentID, ExpiresAt: formatTime(*t.ExpiresAt),
		TTL: t.ExpiresAt.Add(7 * 24 * time.Hour).Unix(),
	}
}

// Expiring is a token filed under the day its key expires.
type Expiring struct {
	TokenID       string
	EnvironmentID string
	ExpiresAt     time.Time
	// Notified says the key.expiring event of this expiry was sent already.
	Notified bool
}

// ExpiringOn returns the tokens whose keys expire on the UTC day of day, read whole.
func (s *Store) ExpiringOn(ctx context.Context, day time.Time) ([]Expiring, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("pk").Equal(expression.Value(expiresPK(day.UTC().Format(dayFormat))))).Build()
	if err != nil {
		return nil, fmt.Errorf("list expiring keys: %w", err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	var out []Expiring
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list expiring keys: %w", err)
		}
		var items []expiryItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, fmt.Errorf("list expiring keys: %w", err)
		}
		for _, it := range items {
			at, err := parseTime(it.ExpiresAt)
			if err != nil {
				return nil, fmt.Errorf("list expiring keys: token %s's expiresAt: %w", it.TokenID, err)
			}
			out = append(out, Expiring{TokenID: it.TokenID, EnvironmentID: it.EnvironmentID, ExpiresAt: at, Notified: it.NotifiedAt != ""})
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// MarkExpiryNotified records that the key.expiring event of e was sent, once: it reports false
// when another run marked it first.
func (s *Store) MarkExpiryNotified(ctx context.Context, e Expiring) (bool, error) {
	notified := expression.Name("notifiedAt")
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(notified, expression.Value(formatTime(s.now())))).
		WithCondition(expression.AttributeExists(expression.Name("pk")).And(expression.AttributeNotExists(notified))).
		Build()
	if err != nil {
		return false, fmt.Errorf("mark expiry of %s: %w", e.TokenID, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: ItemKey(expiresPK(e.ExpiresAt.UTC().Format(dayFormat)), expiresSK(e.EnvironmentID, e.TokenID)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark expiry of %s: %w", e.TokenID, err)
	}
	return true, nil
}
