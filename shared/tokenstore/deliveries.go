package tokenstore

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
)

// DeliveryRetention is how long a webhook delivery and its idempotency record are kept.
const DeliveryRetention = 30 * 24 * time.Hour

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

// deliveryItem is a delivery as stored: once under its user (and, through gsi1, its
// environment), and once more under its source, so that a list by source is served by a key.
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

// deliveryItems are the two items of a delivery: under its user, and under its source.
func deliveryItems(d Delivery, now time.Time) (deliveryItem, deliveryItem) {
	it := deliveryItem{
		PK: hooksPK(d.EnvironmentID, d.UserID), SK: eventSK(d.ID),
		GSI1PK: hooksEnvPK(d.EnvironmentID), GSI1SK: eventSK(d.ID), Kind: kindDelivery,
		ID: d.ID, Source: d.Source, UserID: d.UserID, EnvironmentID: d.EnvironmentID, TokenID: d.TokenID,
		ReceivedAt: formatTime(d.ReceivedAt), Payload: d.Payload, TTL: now.Add(DeliveryRetention).Unix(),
	}
	bySource := it
	bySource.PK, bySource.GSI1PK = hookSourcePK(d.EnvironmentID, d.UserID, d.Source), hookSourceEnvPK(d.EnvironmentID, d.Source)
	bySource.Kind = kindDeliverySource
	return it, bySource
}

func (it deliveryItem) delivery() (Delivery, error) {
	at, err := parseTime(it.ReceivedAt)
	if err != nil {
		return Delivery{}, fmt.Errorf("delivery %s's receivedAt: %w", it.ID, err)
	}
	return Delivery{ID: it.ID, Source: it.Source, UserID: it.UserID, EnvironmentID: it.EnvironmentID,
		TokenID: it.TokenID, ReceivedAt: at, Payload: it.Payload}, nil
}

// deliveryIdemItem remembers a delivery made with an Idempotency-Key.
type deliveryIdemItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Kind        string `dynamodbav:"kind"`
	DeliveryID  string `dynamodbav:"deliveryId"`
	ReceivedAt  string `dynamodbav:"receivedAt"`
	PayloadHash string `dynamodbav:"payloadHash"`
	TTL         int64  `dynamodbav:"ttl"`
}

// KnowsUser reports whether the user is known in the environment: a user who has held a token
// there. It is how an Admin key's ?userId= is kept inside its environment.
func (s *Store) KnowsUser(ctx context.Context, env, user string) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("pk"),
		Key: ItemKey(envPK(env), countSK(user)),
	})
	if err != nil {
		return false, fmt.Errorf("look up user: %w", err)
	}
	return out.Item != nil, nil
}

// RecordDelivery stores a delivery. With an idempotency key, a repeat of the same body within
// the retention answers the first delivery and stores nothing; the same key with another body
// gives ErrIdempotencyMismatch. It reports whether the delivery is new.
func (s *Store) RecordDelivery(ctx context.Context, d Delivery, idempotencyKey string) (Delivery, bool, error) {
	now := s.now().UTC()
	d.ID, d.ReceivedAt = ids.New(ids.Delivery, now), now.Truncate(time.Second)
	byUser, bySource := deliveryItems(d, now)
	b := s.tx()
	var idem *deliveryIdemItem
	if idempotencyKey != "" {
		keySum, payloadSum := sha256.Sum256([]byte(idempotencyKey)), sha256.Sum256([]byte(d.Payload))
		idem = &deliveryIdemItem{
			PK: deliveryIdemPK(d.EnvironmentID, d.UserID, d.Source, hex.EncodeToString(keySum[:])), SK: deliveryIdemSK,
			Kind: kindDeliveryIdem, DeliveryID: d.ID, ReceivedAt: byUser.ReceivedAt,
			PayloadHash: hex.EncodeToString(payloadSum[:]), TTL: byUser.TTL,
		}
		b.put(idem, absent())
	}
	items, err := b.put(byUser, nil).put(bySource, nil).items()
	if err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *types.TransactionCanceledException
	if idem != nil && errors.As(err, &tce) {
		return s.deliveryReplay(ctx, d, *idem)
	}
	if err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
	}
	return d, true, nil
}

// deliveryReplay answers a delivery whose idempotency key was seen before: the first delivery,
// when the body is the same.
func (s *Store) deliveryReplay(ctx context.Context, d Delivery, idem deliveryIdemItem) (Delivery, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: ItemKey(idem.PK, idem.SK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: %w", err)
	}
	var prev deliveryIdemItem
	if err := attributevalue.UnmarshalMap(out.Item, &prev); err != nil || prev.DeliveryID == "" {
		return Delivery{}, false, fmt.Errorf("record delivery: idempotency record unreadable: %v", err)
	}
	if prev.PayloadHash != idem.PayloadHash {
		return Delivery{}, false, ErrIdempotencyMismatch
	}
	d.ID = prev.DeliveryID
	if d.ReceivedAt, err = parseTime(prev.ReceivedAt); err != nil {
		return Delivery{}, false, fmt.Errorf("record delivery: idempotency record's receivedAt: %w", err)
	}
	return d, false, nil
}

// DeliveryQuery selects deliveries.
type DeliveryQuery struct {
	EnvironmentID string
	// UserID limits the list to one user's deliveries; empty lists the whole environment's.
	UserID string
	// Source limits the list to one source's deliveries; empty lists every source's.
	Source   string
	Limit    int
	StartKey map[string]string
}

// DeliveryPage is one page of deliveries, newest first.
type DeliveryPage struct {
	Deliveries []Delivery
	LastKey    map[string]string
}

// ListDeliveries returns a page of deliveries, newest first. Every filter is a key, so every
// page but the last holds Limit deliveries. A start key from another query gives ErrBadCursor.
func (s *Store) ListDeliveries(ctx context.Context, q DeliveryQuery) (DeliveryPage, error) {
	qi := &dynamodb.QueryInput{TableName: &s.table, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(q.Limit))}
	attr, pk, keys := "pk", hooksPK(q.EnvironmentID, q.UserID), 2
	switch {
	case q.UserID != "" && q.Source != "":
		pk = hookSourcePK(q.EnvironmentID, q.UserID, q.Source)
	case q.UserID == "":
		attr, pk, keys = "gsi1pk", hooksEnvPK(q.EnvironmentID), 4
		if q.Source != "" {
			pk = hookSourceEnvPK(q.EnvironmentID, q.Source)
		}
		qi.IndexName = aws.String("gsi1")
	}
	if q.StartKey != nil && (len(q.StartKey) != keys || q.StartKey[attr] != pk) {
		return DeliveryPage{}, ErrBadCursor
	}
	qi.ConsistentRead = aws.Bool(qi.IndexName == nil)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attr).Equal(expression.Value(pk))).Build()
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("list deliveries: %w", err)
	}
	qi.KeyConditionExpression, qi.ExpressionAttributeNames, qi.ExpressionAttributeValues = expr.KeyCondition(), expr.Names(), expr.Values()
	qi.ExclusiveStartKey = StartKey(q.StartKey)
	out, err := s.db.Query(ctx, qi)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("list deliveries: %w", err)
	}
	var items []deliveryItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return DeliveryPage{}, fmt.Errorf("list deliveries: %w", err)
	}
	page := DeliveryPage{LastKey: PageKey(out.LastEvaluatedKey)}
	for _, it := range items {
		d, err := it.delivery()
		if err != nil {
			return DeliveryPage{}, fmt.Errorf("list deliveries: %w", err)
		}
		page.Deliveries = append(page.Deliveries, d)
	}
	return page, nil
}
