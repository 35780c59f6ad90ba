package eventqueue

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The event types a subscription can name (SPEC §10).
const (
	DeliveryReceived = "delivery.received"
	KeyLeaked        = "key.leaked"
	KeyExpiring      = "key.expiring"
	KeyDeactivated   = "key.deactivated"
	KeyDeleted       = "key.deleted"
)

// Types are the event types, in the order the documents list them.
var Types = []string{DeliveryReceived, KeyLeaked, KeyExpiring, KeyDeactivated, KeyDeleted}

// Event is one thing that happened, as the queue carries it.
type Event struct {
	// ID names the event: a delivery's own id for delivery.received, else an ids.Event id.
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	EnvironmentID string    `json:"environmentId"`
	UserID        string    `json:"userId"` // whose delivery or key it is
	Source        string    `json:"source,omitempty"`
	OccurredAt    time.Time `json:"occurredAt"`
	// Data is the event's data for a key event. A delivery's is read from the table when it is
	// sent: a delivery may be as large as a queue message.
	Data json.RawMessage `json:"data,omitempty"`
}

// Message is what the queue carries: an event to fan out (SubscriptionID empty), or the event
// to post to one subscription of one token.
type Message struct {
	Event          Event  `json:"event"`
	SubscriptionID string `json:"subscriptionId,omitempty"`
	TokenID        string `json:"tokenId,omitempty"`
	// WebhookID is the delivery's webhook-id: the same on every attempt, so that a subscriber
	// can tell a retry from a new event.
	WebhookID string `json:"webhookId,omitempty"`
}

// WebhookID is the webhook-id of event to subscription: made from the two, so that the same
// event fanned out twice (a retried fan-out) posts with the same id.
func WebhookID(eventID, subscriptionID string) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + subscriptionID))
	return fmt.Sprintf("msg_%x", sum[:16])
}

// SQS is the part of the SQS client the queue uses.
type SQS interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Queue is the events queue.
type Queue struct {
	client SQS
	url    string
}

// New returns the queue at url.
func New(client SQS, url string) *Queue { return &Queue{client: client, url: url} }

// Publish puts an event on the queue for the sender to fan out.
func (q *Queue) Publish(ctx context.Context, e Event) error {
	body, err := json.Marshal(Message{Event: e})
	if err == nil {
		_, err = q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.url, MessageBody: aws.String(string(body))})
	}
	if err != nil {
		return fmt.Errorf("publish %s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// PublishAll puts events on the queue for the sender to fan out, ten to a batch: what a route
// that acts on many tokens at once reports.
func (q *Queue) PublishAll(ctx context.Context, es []Event) error {
	msgs := make([]Message, 0, len(es))
	for _, e := range es {
		msgs = append(msgs, Message{Event: e})
	}
	return q.Fan(ctx, msgs)
}

// Fan puts messages on the queue, ten to a batch: one per subscription of an event fanned out.
func (q *Queue) Fan(ctx context.Context, msgs []Message) error {
	for start := 0; start < len(msgs); start += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i, m := range msgs[start:min(start+10, len(msgs))] {
			body, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("fan out %s: %w", m.Event.ID, err)
			}
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))})
		}
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.url, Entries: entries})
		if err != nil {
			return fmt.Errorf("fan out %s: %w", msgs[start].Event.ID, err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("fan out %s: %w", msgs[start].Event.ID, errors.New(aws.ToString(out.Failed[0].Code)))
		}
	}
	return nil
}

// Delay hides a received message for d before it is received again: the wait before a failed
// delivery's next attempt.
func (q *Queue) Delay(ctx context.Context, receiptHandle string, d time.Duration) error {
	_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: &q.url, ReceiptHandle: &receiptHandle, VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		return fmt.Errorf("delay retry: %w", err)
	}
	return nil
}
