package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/shared/webhooks"
)

// Poster sends one webhook request: in a function, the client of a webhooks.Guard.
type Poster interface {
	Do(*http.Request) (*http.Response, error)
}

// UserAgent is the User-Agent of every webhook request.
const UserAgent = "apitokens-webhooks/1"

// errRetry marks a message to be received again, after the delay the sender set on it.
var errRetry = errors.New("delivery failed; retried later")

// webhookPayload is the body of a webhook, as Standard Webhooks suggests: the event's type, when
// it happened, and its data.
type webhookPayload struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// SendEvents is the webhook sender, which the events queue's SQS event source mapping calls
// with batches of messages, handled side by side. An event is fanned out into one message per
// subscription that reaches it; a subscription's message is posted, signed, to its target. A
// message that fails is reported in the batch's failures, hidden first for as long as the
// backoff says, so that SQS hands it over again then (and to the dead-letter queue after its
// last receive). What can never succeed (a token deleted or paused, a subscription ended, a
// refused address) is recorded or logged and not retried.
func SendEvents(d *service.Deps, client Poster) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			resp = events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		)
		for _, rec := range ev.Records {
			wg.Go(func() {
				if err := handleMessage(ctx, d, client, rec); err != nil {
					if !errors.Is(err, errRetry) {
						d.Log.ErrorContext(ctx, "message failed", "messageId", rec.MessageId, "err", err)
					}
					mu.Lock()
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return resp, nil
	}
}

func handleMessage(ctx context.Context, d *service.Deps, client Poster, rec events.SQSMessage) error {
	var m eventqueue.Message
	if err := json.Unmarshal([]byte(rec.Body), &m); err != nil || m.Event.ID == "" || m.Event.EnvironmentID == "" {
		d.Log.ErrorContext(ctx, "unreadable message dropped", "messageId", rec.MessageId)
		return nil
	}
	if m.SubscriptionID == "" {
		return fanOut(ctx, d, m.Event)
	}
	return deliver(ctx, d, client, m, rec)
}

// fanOut queues one message per subscription that reaches e.
func fanOut(ctx context.Context, d *service.Deps, e eventqueue.Event) error {
	subs, err := d.Store.Subscribers(ctx, e.EnvironmentID, e.Type, e.UserID)
	if err != nil {
		return err
	}
	var msgs []eventqueue.Message
	for _, s := range subs {
		if s.Source != "" && s.Source != e.Source {
			continue
		}
		msgs = append(msgs, eventqueue.Message{Event: e, SubscriptionID: s.ID, TokenID: s.TokenID,
			WebhookID: eventqueue.WebhookID(e.ID, s.ID)})
	}
	if len(msgs) == 0 {
		return nil
	}
	return d.Events.Fan(ctx, msgs)
}

// deliver posts m's event to its subscription, once its token is known to be active.
func deliver(ctx context.Context, d *service.Deps, client Poster, m eventqueue.Message, rec events.SQSMessage) error {
	e, log := m.Event, d.Log.With("subscriptionId", m.SubscriptionID, "webhookId", m.WebhookID, "event", m.Event.Type)
	tok, err := d.Store.Get(ctx, e.EnvironmentID, m.TokenID)
	if errors.Is(err, tokenstore.ErrNotFound) {
		log.InfoContext(ctx, "token deleted: subscription ended")
		return ignoreGone(d.Store.DeleteSubscription(ctx, e.EnvironmentID, m.TokenID, m.SubscriptionID))
	}
	if err != nil {
		return err
	}
	if tok.State(d.Now()) != string(tokenstore.StatusActive) {
		log.InfoContext(ctx, "token not active: subscription paused, event not sent")
		return nil
	}
	sub, err := d.Store.Subscription(ctx, e.EnvironmentID, m.TokenID, m.SubscriptionID)
	if errors.Is(err, tokenstore.ErrSubscriptionNotFound) {
		return nil // ended since the fan-out
	}
	if err != nil {
		return err
	}
	body, err := webhookBody(ctx, d, e)
	if errors.Is(err, tokenstore.ErrNotFound) {
		log.InfoContext(ctx, "delivery expired before it was sent")
		return nil
	}
	if err != nil {
		return err
	}
	attempt, err := post(ctx, d, client, sub, m, body)
	if err != nil {
		return err
	}
	if err := d.Store.RecordAttempt(ctx, e.EnvironmentID, sub.ID, attempt); err != nil {
		log.ErrorContext(ctx, "attempt not recorded", "err", err) // the attempt itself stands
	}
	log.InfoContext(ctx, "attempt", "status", attempt.Status, "code", attempt.Code)
	switch attempt.Status {
	case tokenstore.AttemptGone:
		return ignoreGone(d.Store.DeleteSubscription(ctx, e.EnvironmentID, m.TokenID, m.SubscriptionID))
	case tokenstore.AttemptFailed:
		receives, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
		if err := d.Events.Delay(ctx, rec.ReceiptHandle, d.Config.Webhooks.Backoff.After(receives)); err != nil {
			log.ErrorContext(ctx, "retry not delayed", "err", err)
		}
		return errRetry
	}
	return nil
}

// post signs body for sub and posts it, and says how the attempt went. An error is the
// service's own (the secret could not be opened), not the target's.
func post(ctx context.Context, d *service.Deps, client Poster, sub tokenstore.Subscription, m eventqueue.Message, body []byte) (tokenstore.Attempt, error) {
	at := d.Now().UTC()
	attempt := tokenstore.Attempt{ID: ids.New(ids.Attempt, at), WebhookID: m.WebhookID, Event: m.Event.Type, At: at, Status: tokenstore.AttemptFailed}
	secret, err := openSecret(ctx, d, sub)
	if err != nil {
		return attempt, err
	}
	h, err := webhooks.Sign(secret, m.WebhookID, at, body)
	if err != nil {
		return attempt, fmt.Errorf("sign for subscription %s: %w", sub.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.TargetURL, bytes.NewReader(body))
	if err != nil {
		return attempt, nil // a stored target that no longer parses: failed, and retried
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("user-agent", UserAgent)
	req.Header.Set("webhook-id", h.ID)
	req.Header.Set("webhook-timestamp", h.Timestamp)
	req.Header.Set("webhook-signature", h.Signature)
	resp, err := client.Do(req)
	switch {
	case errors.Is(err, webhooks.ErrRefusedAddress):
		attempt.Status = tokenstore.AttemptRefused
	case err != nil:
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		attempt.Code = resp.StatusCode
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			attempt.Status = tokenstore.AttemptSucceeded
		case resp.StatusCode == http.StatusGone:
			attempt.Status = tokenstore.AttemptGone
		}
	}
	return attempt, nil
}

// webhookBody is the body posted for e: the same on every attempt.
func webhookBody(ctx context.Context, d *service.Deps, e eventqueue.Event) ([]byte, error) {
	data := e.Data
	if e.Type == eventqueue.DeliveryReceived {
		del, err := d.Store.Delivery(ctx, e.EnvironmentID, e.UserID, e.ID)
		if err != nil {
			return nil, err
		}
		if data, err = json.Marshal(deliveryView{ID: del.ID, Source: del.Source, UserID: del.UserID, TokenID: del.TokenID,
			ReceivedAt: apiTime(del.ReceivedAt), Payload: json.RawMessage(del.Payload)}); err != nil {
			return nil, err
		}
	}
	return json.Marshal(webhookPayload{Type: e.Type, Timestamp: apiTime(e.OccurredAt), Data: data})
}

// openSecret opens a subscription's sealed signing secret.
func openSecret(ctx context.Context, d *service.Deps, sub tokenstore.Subscription) (string, error) {
	v, err := d.Keys.Version(ctx, sub.SecretVersion)
	if err != nil {
		return "", fmt.Errorf("open secret of subscription %s: %w", sub.ID, err)
	}
	plain, err := v.Open(sub.SecretSealed, subscriptionAAD(sub))
	if err != nil {
		return "", fmt.Errorf("open secret of subscription %s: %w", sub.ID, err)
	}
	return string(plain), nil
}

// ignoreGone treats a subscription that ended already as ended.
func ignoreGone(err error) error {
	if errors.Is(err, tokenstore.ErrSubscriptionNotFound) {
		return nil
	}
	return err
}
