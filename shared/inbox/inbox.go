package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Retention is how long a delivery and its idempotency record are kept.
const Retention = 30 * 24 * time.Hour

// Errors of the inbox.
var (
	// ErrIdempotencyMismatch reports an Idempotency-Key reused with another body; it is the
	// token store's error, so one mapping answers both routes.
	ErrIdempotencyMismatch = tokenstore.ErrIdempotencyMismatch
	// ErrBadCursor reports a start key that is not the query's.
	ErrBadCursor = tokenstore.ErrBadCursor
)

// Delivery is one recorded webhook delivery.
type Delivery struct {
	ID            string
	Source        string
	UserID        string
	EnvironmentID string
	TokenID       string // the key that posted it
	ReceivedAt    time.Time
	Payload       string // the JSON object as received
}

type deliveryItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	GSI1PK        string `dynamodbav:"gsi1pk"`
	GSI1SK        string `dynamodbav:"gsi1sk"`
	Kind          string `dynamodbav:"kind"`
	ID            string `dynamodbav:"id"`
	Source        string `dynamodbav:"source"`
	UserID        string `dynamodbav:"userId"`
	EnvironmentID string `dynamodbav:"environmentId"`
	TokenID       string `dynamodbav:"tokenId"`
	ReceivedAt    string `dynamodbav:"receivedAt"`
	Payload       string `dynamodbav:"payload"`
	TTL           int64  `dynamodbav:"ttl"`
}

type idemItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Kind        string `dynamodbav:"kind"`
	DeliveryID  string `dynamodbav:"deliveryId"`
	ReceivedAt  string `dynamodbav:"receivedAt"`
	PayloadHash string `dynamodbav:"payloadHash"`
	TTL         int64  `dynamodbav:"ttl"`
}

const timeFormat = "2006-01-02T15:04:05Z"

func userPK(env, user string) string { return "HOOKS#" + env + "#" + user }
func envPK(env string) string        { return "HOOKS#" + env }
func eventSK(id string) string       { return "EVT#" + id }

// DynamoDB is the part of the DynamoDB client the inbox uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Inbox stores and lists deliveries.
type Inbox struct {
	db    DynamoDB
	table string
	now   func() time.Time
}

// New returns an Inbox over the named table.
func New(db DynamoDB, table string) *Inbox {
	return &Inbox{db: db, table: table, now: time.Now}
}

// WithClock replaces the inbox's clock, for tests.
func (in *Inbox) WithClock(now func() time.Time) *Inbox {
	in.now = now
	return in
}

// KnowsUser reports whether the user is known in the environment: a user who has held a token
// there. It is how an Admin key's ?userId= is kept inside its environment.
func (in *Inbox) KnowsUser(ctx context.Context, env, user string) (bool, error) {
	out, err := in.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &in.table, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("pk"),
		Key: tokenstore.ItemKey("ENV#"+env, "COUNT#"+user),
	})
	if err != nil {
		return false, fmt.Errorf("look up user: %w", err)
	}
	return out.Item != nil, nil
}

// Record stores a delivery. With an idempotency key, a repeat of the same body within the
// retention answers the first delivery and stores nothing; the same key with another body gives
// ErrIdempotencyMismatch. It reports whether the delivery is new.
func (in *Inbox) Record(ctx context.Context, d Delivery, idempotencyKey string) (Delivery, bool, error) {
	now := in.now().UTC()
	d.ID, d.ReceivedAt = ids.New(ids.Delivery, now), now.Truncate(time.Second)
	item, err := attributevalue.MarshalMap(deliveryItem{
		PK: userPK(d.EnvironmentID, d.UserID), SK: eventSK(d.ID),
		GSI1PK: envPK(d.EnvironmentID), GSI1SK: eventSK(d.ID), Kind: "delivery",
		ID: d.ID, Source: d.Source, UserID: d.UserID, EnvironmentID: d.EnvironmentID, TokenID: d.TokenID,
		ReceivedAt: d.ReceivedAt.Format(timeFormat), Payload: d.Payload, TTL: now.Add(Retention).Unix(),
	})
	if err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
	}
	if idempotencyKey == "" {
		if _, err := in.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &in.table, Item: item}); err != nil {
			return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
		}
		return d, true, nil
	}

	sum := sha256.Sum256([]byte(idempotencyKey))
	idemKey := tokenstore.ItemKey(fmt.Sprintf("IDEM#%s#%s#%s#%s", d.EnvironmentID, d.UserID, d.Source, hex.EncodeToString(sum[:])), "IDEM")
	payloadSum := sha256.Sum256([]byte(d.Payload))
	idem, err := attributevalue.MarshalMap(idemItem{
		Kind: "idempotency", DeliveryID: d.ID, ReceivedAt: d.ReceivedAt.Format(timeFormat),
		PayloadHash: hex.EncodeToString(payloadSum[:]), TTL: now.Add(Retention).Unix(),
	})
	if err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
	}
	idem["pk"], idem["sk"] = idemKey["pk"], idemKey["sk"]
	fresh, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
	}
	_, err = in.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &in.table, Item: idem, ConditionExpression: fresh.Condition(), ExpressionAttributeNames: fresh.Names()}},
		{Put: &types.Put{TableName: &in.table, Item: item}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		if err != nil {
			return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
		}
		return d, true, nil
	}
	// The key was seen before: answer the first delivery.
	out, err := in.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &in.table, Key: idemKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
	}
	var prev idemItem
	if err := attributevalue.UnmarshalMap(out.Item, &prev); err != nil || prev.DeliveryID == "" {
		return Delivery{}, false, fmt.Errorf("record delivery: idempotency record unreadable: %v", err)
	}
	if prev.PayloadHash != hex.EncodeToString(payloadSum[:]) {
		return Delivery{}, false, ErrIdempotencyMismatch
	}
	d.ID = prev.DeliveryID
	if d.ReceivedAt, err = time.Parse(timeFormat, prev.ReceivedAt); err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: idempotency record's receivedAt: %w", err)
	}
	return d, false, nil
}

// Query selects deliveries.
type Query struct {
	EnvironmentID string
	// UserID limits the list to one user's deliveries; empty lists the whole environment's.
	UserID   string
	Source   string
	Limit    int
	StartKey map[string]string
}

// Page is one page of deliveries, newest first.
type Page struct {
	Deliveries []Delivery
	LastKey    map[string]string
}

// List returns a page of deliveries, newest first. A start key from another query gives
// ErrBadCursor.
func (in *Inbox) List(ctx context.Context, q Query) (Page, error) {
	qi := &dynamodb.QueryInput{TableName: &in.table, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(q.Limit))}
	var cond expression.KeyConditionBuilder
	if q.UserID != "" {
		pk := userPK(q.EnvironmentID, q.UserID)
		if q.StartKey != nil && (len(q.StartKey) != 2 || q.StartKey["pk"] != pk) {
			return Page{}, ErrBadCursor
		}
		cond = expression.Key("pk").Equal(expression.Value(pk))
		qi.ConsistentRead = aws.Bool(true)
	} else {
		pk := envPK(q.EnvironmentID)
		if q.StartKey != nil && (len(q.StartKey) != 4 || q.StartKey["gsi1pk"] != pk) {
			return Page{}, ErrBadCursor
		}
		cond = expression.Key("gsi1pk").Equal(expression.Value(pk))
		qi.IndexName = aws.String("gsi1")
	}
	b := expression.NewBuilder().WithKeyCondition(cond)
	if q.Source != "" {
		b = b.WithFilter(expression.Name("source").Equal(expression.Value(q.Source)))
	}
	expr, err := b.Build()
	if err != nil {
		return Page{}, fmt.Errorf("list deliveries: %w", err)
	}
	qi.KeyConditionExpression, qi.FilterExpression = expr.KeyCondition(), expr.Filter()
	qi.ExpressionAttributeNames, qi.ExpressionAttributeValues = expr.Names(), expr.Values()
	qi.ExclusiveStartKey = tokenstore.StartKey(q.StartKey)
	out, err := in.db.Query(ctx, qi)
	if err != nil {
		return Page{}, fmt.Errorf("list deliveries: %w", err)
	}
	var items []deliveryItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return Page{}, fmt.Errorf("list deliveries: %w", err)
	}
	page := Page{LastKey: tokenstore.PageKey(out.LastEvaluatedKey)}
	for _, it := range items {
		at, err := time.Parse(timeFormat, it.ReceivedAt)
		if err != nil {
			return Page{}, fmt.Errorf("list deliveries: %s's receivedAt: %w", it.ID, err)
		}
		page.Deliveries = append(page.Deliveries, Delivery{
			ID: it.ID, Source: it.Source, UserID: it.UserID, EnvironmentID: it.EnvironmentID,
			TokenID: it.TokenID, ReceivedAt: at, Payload: it.Payload,
		})
	}
	return page, nil
}
