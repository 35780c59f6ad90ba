package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// ExpiringWindow is how far ahead a key.expiring event warns.
const ExpiringWindow = 7 * 24 * time.Hour

// NotifyExpiring is the scheduled function that, once a day, publishes key.expiring for every
// active key that expires within ExpiringWindow and was not announced yet. It reads the tokens
// filed under each of the next eight days (a Query each, no Scan), and marks each announced
// after its event is queued: a run that fails midway is made good by the next, and an event
// queued twice keeps its id, so its webhook-id too.
func NotifyExpiring(d *service.Deps) func(context.Context, events.EventBridgeEvent) error {
	return func(ctx context.Context, _ events.EventBridgeEvent) error {
		now := d.Now().UTC()
		sent := 0
		for day := range 8 {
			due, err := d.Store.ExpiringOn(ctx, now.AddDate(0, 0, day))
			if err != nil {
				return err
			}
			for _, x := range due {
				ok, err := announceExpiry(ctx, d, x, now)
				if err != nil {
					return err
				}
				if ok {
					sent++
				}
			}
		}
		d.Log.InfoContext(ctx, "expiring keys announced", "count", sent)
		return nil
	}
}

// announceExpiry publishes key.expiring for x when it is due, and reports whether it did.
func announceExpiry(ctx context.Context, d *service.Deps, x tokenstore.Expiring, now time.Time) (bool, error) {
	if x.Notified || !x.ExpiresAt.After(now) || x.ExpiresAt.After(now.Add(ExpiringWindow)) {
		return false, nil
	}
	t, err := d.Store.Get(ctx, x.EnvironmentID, x.TokenID)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if t.ExpiresAt == nil || !t.ExpiresAt.Equal(x.ExpiresAt) || t.Status != tokenstore.StatusActive {
		return false, nil
	}
	id := "kev_expiring_" + t.ID + "_" + x.ExpiresAt.UTC().Format("20060102T150405Z")
	if err := keyEvent(ctx, d, eventqueue.KeyExpiring, id, t); err != nil {
		return false, err
	}
	return d.Store.MarkExpiryNotified(ctx, x)
}
