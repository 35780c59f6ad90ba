package handlers

import (
	"context"
	"encoding/json"
	"time"

	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// keyEventView is the data of a key event: the token as it was, without key material, under
// the event's id (what a Zapier trigger tells events apart by).
type keyEventView struct {
	ID            string    `json:"id"`
	TokenID       string    `json:"tokenId"`
	TokenName     string    `json:"tokenName"`
	Type          string    `json:"type"`
	UserID        string    `json:"userId"`
	EnvironmentID string    `json:"environmentId"`
	Hint          string    `json:"hint"`
	ExpiresAt     *string   `json:"expiresAt"`
	Leak          *leakView `json:"leak"`
}

// publish puts e on the events queue, when the function has one. A failure is logged, and a
// route does not answer it: the action the event reports is done and stays done, and the log
// line (level ERROR, with the event's id) is what an alarm watches.
func publish(ctx context.Context, d *service.Deps, e eventqueue.Event) error {
	if d.Events == nil {
		return nil
	}
	err := d.Events.Publish(ctx, e)
	if err != nil {
		d.Log.ErrorContext(ctx, "event not queued", "event", e.Type, "eventId", e.ID, "err", err)
	}
	return err
}

// keyEvent publishes an event of type typ about token t, with id as its id ("" makes one).
func keyEvent(ctx context.Context, d *service.Deps, typ, id string, t tokenstore.Token) error {
	return publish(ctx, d, keyEventOf(d, typ, id, t))
}

// keyEvents publishes an event of type typ about each of toks, ten to a queue call, as a route
// that acts on many tokens at once reports them. A failure is logged, as publish logs it.
func keyEvents(ctx context.Context, d *service.Deps, typ string, toks []tokenstore.Token) {
	if d.Events == nil || len(toks) == 0 {
		return
	}
	evs := make([]eventqueue.Event, 0, len(toks))
	for _, t := range toks {
		evs = append(evs, keyEventOf(d, typ, "", t))
	}
	if err := d.Events.PublishAll(ctx, evs); err != nil {
		d.Log.ErrorContext(ctx, "events not queued", "event", typ, "count", len(evs), "err", err)
	}
}

// keyEventOf is the event of type typ about token t, with id as its id ("" makes one).
func keyEventOf(d *service.Deps, typ, id string, t tokenstore.Token) eventqueue.Event {
	now := d.Now().UTC()
	if id == "" {
		id = ids.New(ids.Event, now)
	}
	data, _ := json.Marshal(keyEventView{
		ID: id, TokenID: t.ID, TokenName: t.Name, Type: string(t.Type), UserID: t.UserID,
		EnvironmentID: t.EnvironmentID, Hint: t.Hint, ExpiresAt: optTime(t.ExpiresAt), Leak: leakOf(t),
	})
	return eventqueue.Event{ID: id, Type: typ, EnvironmentID: t.EnvironmentID, UserID: t.UserID,
		OccurredAt: now.Truncate(time.Second), Data: data}
}

// deliveryEvent publishes that delivery del was received.
func deliveryEvent(ctx context.Context, d *service.Deps, del tokenstore.Delivery) {
	_ = publish(ctx, d, eventqueue.Event{ID: del.ID, Type: eventqueue.DeliveryReceived, EnvironmentID: del.EnvironmentID,
		UserID: del.UserID, Source: del.Source, OccurredAt: del.ReceivedAt})
}
