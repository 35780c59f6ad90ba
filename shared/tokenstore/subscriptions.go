package tokenstore

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apitokens/apitokens/shared/fault"
)

// AttemptRetention is how long a subscription's delivery attempts are kept.
const AttemptRetention = 30 * 24 * time.Hour

var (
	// ErrSubscriptionNotFound reports a subscription that is not stored, or not the caller's.
	ErrSubscriptionNotFound = fault.Domain("subscription not found", http.StatusNotFound, "subscription_not_found", "No subscription with this id for this key.")
	// ErrSubscriptionLimit refuses a subscription past the token's limit.
	ErrSubscriptionLimit = fault.Domain("subscription limit reached", http.StatusConflict, "subscription_limit_reached", "This key holds as many subscriptions as it may; delete one first.")
)

// Subscription is a REST hook: where the events of one type that its token may see are posted.
// It belongs to the token whose key made it; SecretSealed is its signing secret sealed under
// ring version SecretVersion, never shown again after its creation.
type Subscription struct {
	ID            string
	TokenID       string
	UserID        string
	EnvironmentID string
	// Environment is true for an Admin token's subscription: it sees its whole environment.
	Environment   bool
	Event         string
	Source        string // delivery.received only: "" for every source
	TargetURL     string
	SecretVersion string
	SecretSealed  []byte
	CreatedAt     time.Time
}

type subscriptionItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	GSI1PK        string `dynamodbav:"gsi1pk"`
	GSI1SK        string `dynamodbav:"gsi1sk"`
	Kind          string `dynamodbav:"kind"`
	ID            string `dynamodbav:"id"`
	TokenID       string `dynamodbav:"tokenId"`
	UserID        string `dynamodbav:"userId"`
	EnvironmentID string `dynamodbav:"environmentId"`
	Environment   bool   `dynamodbav:"environmentScope"`
	Event         string `dynamodbav:"event"`
	Source        string `dynamodbav:"source,omitempty"`
	TargetURL     string `dynamodbav:"targetUrl"`
	SecretVersion string `dynamodbav:"secretVersion"`
	SecretSealed  []byte `dynamodbav:"secretSealed"`
	CreatedAt     string `dynamodbav:"createdAt"`
}

func newSubscriptionItem(s Subscription) subscriptionItem {
	reach := subscribersPK(s.EnvironmentID, s.Event, s.UserID)
	if s.Environment {
		reach = subscribersEnvPK(s.EnvironmentID, s.Event)
	}
	return subscriptionItem{
		PK: subscriptionsPK(s.EnvironmentID, s.TokenID), SK: subscriptionSK(s.ID),
		GSI1PK: reach, GSI1SK: subscriptionSK(s.ID), Kind: kindSubscription,
		ID: s.ID, TokenID: s.TokenID, UserID: s.UserID, EnvironmentID: s.EnvironmentID, Environment: s.Environment,
		Event: s.Event, Source: s.Source, TargetURL: s.TargetURL,
		SecretVersion: s.SecretVersion, SecretSealed: s.SecretSealed, CreatedAt: formatTime(s.CreatedAt),
	}
}

func (it subscriptionItem) subscription() (Subscription, error) {
	at, err := parseTime(it.CreatedAt)
	if err != nil {
		return Subscription{}, fmt.Errorf("subscription %s's createdAt: %w", it.ID, err)
	}
	return Subscription{ID: it.ID, TokenID: it.TokenID, UserID: it.UserID, EnvironmentID: it.EnvironmentID,
		Environment: it.Environment, Event: it.Event, Source: it.Source, TargetURL: it.TargetURL,
		SecretVersion: it.SecretVersion, SecretSealed: it.SecretSealed, CreatedAt: at}, nil
}

// subscriptionCountKey is the item that counts a token's subscriptions against the limit.
func subscriptionCountKey(env, tokenID string) map[string]types.AttributeValue {
	return ItemKey(subscriptionsPK(env, tokenID), subscriptionCountSK)
}

// CreateSubscription stores a subscription and counts it against its token's limit, in one
// transaction; ErrSubscriptionLimit when the token already holds limit subscriptions.
func (s *Store) CreateSubscription(ctx context.Context, sub Subscription, limit int) error {
	count := expression.Name("count")
	under := expression.Or(expression.AttributeNotExists(count), count.LessThan(expression.Value(limit)))
	items, err := s.tx().put(newSubscriptionItem(sub), absent()).
		update(subscriptionCountKey(sub.EnvironmentID, sub.TokenID),
			expression.Add(count, expression.Value(1)).Set(expression.Name("kind"), expression.Value(kindSubscriptionCount)), &under).
		items()
	if err != nil {
		return fmt.Errorf("create subscription: %w", err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reasons, ok := cancelReasons(err, len(items)); ok {
		if reasons[1] == conditionFailed {
			return ErrSubscriptionLimit
		}
		return fmt.Errorf("create subscription %s: %w", sub.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create subscription %s: %w", sub.ID, err)
	}
	return nil
}

// Subscription reads one subscription of a token, or ErrSubscriptionNotFound.
func (s *Store) Subscription(ctx context.Context, env, tokenID, id string) (Subscription, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: ItemKey(subscriptionsPK(env, tokenID), subscriptionSK(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("get subscription %s: %w", id, err)
	}
	if out.Item == nil {
		return Subscription{}, ErrSubscriptionNotFound
	}
	var it subscriptionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Subscription{}, fmt.Errorf("get subscription %s: %w", id, err)
	}
	return it.subscription()
}

// DeleteSubscription ends a subscription and gives its slot back; ErrSubscriptionNotFound when
// it is not stored (ended already, or never the token's).
func (s *Store) DeleteSubscription(ctx context.Context, env, tokenID, id string) error {
	items, err := s.tx().delete(ItemKey(subscriptionsPK(env, tokenID), subscriptionSK(id)), exists()).
		update(subscriptionCountKey(env, tokenID), expression.Add(expression.Name("count"), expression.Value(-1)), exists()).
		items()
	if err != nil {
		return fmt.Errorf("delete subscription %s: %w", id, err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reasons, ok := cancelReasons(err, len(items)); ok {
		if reasons[0] == conditionFailed {
			return ErrSubscriptionNotFound
		}
		return fmt.Errorf("delete subscription %s: %w", id, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete subscription %s: %w", id, err)
	}
	return nil
}

// SubscriptionPage is one page of a token's subscriptions, newest first.
type SubscriptionPage struct {
	Subscriptions []Subscription
	LastKey       map[string]string
}

// ListSubscriptions returns a page of a token's subscriptions, newest first.
func (s *Store) ListSubscriptions(ctx context.Context, env, tokenID string, limit int, start map[string]string) (SubscriptionPage, error) {
	items, last, err := queryNewest[subscriptionItem](ctx, s, subscriptionsPK(env, tokenID), subscriptionSK(""), limit, start)
	if err != nil {
		return SubscriptionPage{}, fmt.Errorf("list subscriptions: %w", err)
	}
	page := SubscriptionPage{LastKey: last, Subscriptions: make([]Subscription, 0, len(items))}
	for _, it := range items {
		sub, err := it.subscription()
		if err != nil {
			return SubscriptionPage{}, fmt.Errorf("list subscriptions: %w", err)
		}
		page.Subscriptions = append(page.Subscriptions, sub)
	}
	return page, nil
}

// Subscribers returns the subscriptions to event that reach the given user of env: the user's
// own tokens' and those of the environment's Admin tokens. Two queries on gsi1, read whole (a
// token holds a bounded number of subscriptions).
func (s *Store) Subscribers(ctx context.Context, env, event, user string) ([]Subscription, error) {
	var all []Subscription
	for _, pk := range []string{subscribersPK(env, event, user), subscribersEnvPK(env, event)} {
		expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("gsi1pk").Equal(expression.Value(pk))).Build()
		if err != nil {
			return nil, fmt.Errorf("find subscribers: %w", err)
		}
		in := &dynamodb.QueryInput{
			TableName: &s.table, IndexName: aws.String("gsi1"), KeyConditionExpression: expr.KeyCondition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}
		for {
			out, err := s.db.Query(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("find subscribers: %w", err)
			}
			subs, err := subscriptionsOf(out.Items)
			if err != nil {
				return nil, fmt.Errorf("find subscribers: %w", err)
			}
			all = append(all, subs...)
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return all, nil
}

func subscriptionsOf(raw []map[string]types.AttributeValue) ([]Subscription, error) {
	var items []subscriptionItem
	if err := attributevalue.UnmarshalListOfMaps(raw, &items); err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(items))
	for _, it := range items {
		sub, err := it.subscription()
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, nil
}

// Attempt is one try at posting an event to a subscription's target.
type Attempt struct {
	ID        string
	WebhookID string
	Event     string
	At        time.Time
	// Status is succeeded, failed, refused (the target's address is not allowed) or gone (410:
	// the subscription ended).
	Status string
	// Code is the target's HTTP status; 0 when there was no answer.
	Code int
}

// Attempt statuses.
const (
	AttemptSucceeded = "succeeded"
	AttemptFailed    = "failed"
	AttemptRefused   = "refused"
	AttemptGone      = "gone"
)

type attemptItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Kind      string `dynamodbav:"kind"`
	ID        string `dynamodbav:"id"`
	WebhookID string `dynamodbav:"webhookId"`
	Event     string `dynamodbav:"event"`
	At        string `dynamodbav:"at"`
	Status    string `dynamodbav:"status"`
	Code      int    `dynamodbav:"code"`
	TTL       int64  `dynamodbav:"ttl"`
}

func newAttemptItem(env, subscriptionID string, a Attempt) attemptItem {
	return attemptItem{PK: attemptsPK(env, subscriptionID), SK: a.ID, Kind: kindAttempt, ID: a.ID,
		WebhookID: a.WebhookID, Event: a.Event, At: formatTime(a.At), Status: a.Status, Code: a.Code,
		TTL: a.At.Add(AttemptRetention).Unix()}
}

// RecordAttempt stores one attempt of a subscription's delivery.
func (s *Store) RecordAttempt(ctx context.Context, env, subscriptionID string, a Attempt) error {
	item, err := attributevalue.MarshalMap(newAttemptItem(env, subscriptionID, a))
	if err == nil {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	}
	if err != nil {
		return fmt.Errorf("record attempt of subscription %s: %w", subscriptionID, err)
	}
	return nil
}

// AttemptPage is one page of a subscription's attempts, newest first.
type AttemptPage struct {
	Attempts []Attempt
	LastKey  map[string]string
}

// ListAttempts returns a page of a subscription's attempts, newest first.
func (s *Store) ListAttempts(ctx context.Context, env, subscriptionID string, limit int, start map[string]string) (AttemptPage, error) {
	items, last, err := queryNewest[attemptItem](ctx, s, attemptsPK(env, subscriptionID), "", limit, start)
	if err != nil {
		return AttemptPage{}, fmt.Errorf("list attempts: %w", err)
	}
	page := AttemptPage{LastKey: last}
	for _, it := range items {
		at, err := parseTime(it.At)
		if err != nil {
			return AttemptPage{}, fmt.Errorf("list attempts: attempt %s's at: %w", it.ID, err)
		}
		page.Attempts = append(page.Attempts, Attempt{ID: it.ID, WebhookID: it.WebhookID, Event: it.Event,
			At: at, Status: it.Status, Code: it.Code})
	}
	return page, nil
}

// Delivery reads one recorded delivery of a user, or ErrNotFound once it expired.
func (s *Store) Delivery(ctx context.Context, env, user, id string) (Delivery, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: ItemKey(hooksPK(env, user), eventSK(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("get delivery %s: %w", id, err)
	}
	if out.Item == nil {
		return Delivery{}, ErrNotFound
	}
	var it deliveryItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Delivery{}, fmt.Errorf("get delivery %s: %w", id, err)
	}
	return it.delivery()
}
