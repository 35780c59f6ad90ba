package handlers

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/apitokens/apitokens/shared/cursor"
	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/shared/webhooks"
)

var (
	errInvalidEvent          = httpapi.Errorf(http.StatusBadRequest, "invalid_event", "event must be one of delivery.received, key.leaked, key.expiring, key.deactivated, key.deleted.")
	errInvalidTarget         = httpapi.Errorf(http.StatusBadRequest, "invalid_target_url", "targetUrl must be an absolute https URL of at most 2048 characters, without user information or fragment, to a public address.")
	errInvalidTargetLocal    = httpapi.Errorf(http.StatusBadRequest, "invalid_target_url", "targetUrl must be an http or https URL of at most 2048 characters to this machine (127.0.0.1, [::1] or localhost): the local run posts nowhere else.")
	errSourceOnlyForDelivery = httpapi.Errorf(http.StatusBadRequest, "invalid_source", "source filters delivery.received only; leave it out for key events.")
	errInvalidSubscriptionID = httpapi.Errorf(http.StatusBadRequest, "invalid_subscription_id", "The subscription id is malformed.")
)

type subscribeRequest struct {
	TargetURL *string `json:"targetUrl"`
	Event     *string `json:"event"`
	Source    *string `json:"source"`
}

// subscribeCanonical is a subscribe request as it was understood.
type subscribeCanonical struct{ targetURL, event, source string }

type subscriptionView struct {
	ID        string  `json:"id"`
	Event     string  `json:"event"`
	TargetURL string  `json:"targetUrl"`
	Source    *string `json:"source"`
	CreatedAt string  `json:"createdAt"`
}

type subscribedView struct {
	subscriptionView
	Secret string `json:"secret"`
}

type subscriptionListView struct {
	Items      []subscriptionView `json:"items"`
	NextCursor *string            `json:"nextCursor"`
}

type attemptView struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
	Event     string `json:"event"`
	At        string `json:"at"`
	Status    string `json:"status"`
	Code      *int   `json:"code"`
}

type attemptListView struct {
	Items      []attemptView `json:"items"`
	NextCursor *string       `json:"nextCursor"`
}

func subscriptionViewOf(s tokenstore.Subscription) subscriptionView {
	v := subscriptionView{ID: s.ID, Event: s.Event, TargetURL: s.TargetURL, CreatedAt: apiTime(s.CreatedAt)}
	if s.Source != "" {
		v.Source = &s.Source
	}
	return v
}

// parseSubscribe reads a subscribe request under the deployment's target rule.
func parseSubscribe(req httpapi.Request, targets webhooks.Targets) (subscribeCanonical, error) {
	var in subscribeRequest
	if err := httpapi.DecodeJSON(req, httpapi.MaxBody, &in); err != nil {
		return subscribeCanonical{}, err
	}
	var out subscribeCanonical
	if in.Event == nil || !slices.Contains(eventqueue.Types, *in.Event) {
		return out, errInvalidEvent
	}
	out.event = *in.Event
	if in.TargetURL == nil {
		return out, targetError(targets)
	}
	u, err := targets.Check(*in.TargetURL)
	if err != nil {
		return out, targetError(targets)
	}
	out.targetURL = u.String()
	if in.Source != nil {
		switch {
		case out.event != eventqueue.DeliveryReceived:
			return out, errSourceOnlyForDelivery
		case !sourcePattern.MatchString(*in.Source) || *in.Source == "events":
			return out, errInvalidSource
		}
		out.source = *in.Source
	}
	return out, nil
}

func targetError(t webhooks.Targets) error {
	if t == webhooks.Loopback {
		return errInvalidTargetLocal
	}
	return errInvalidTarget
}

// subscriptionAAD binds a sealed signing secret to its subscription, so that a secret moved
// to another item does not open.
func subscriptionAAD(s tokenstore.Subscription) []byte {
	return keyring.BindingAAD("subscription", s.ID, s.TokenID, s.EnvironmentID)
}

// CreateSubscription is POST /v1/subscriptions: a REST hook for the key's token, answered once
// with its signing secret. The secret is stored sealed under the key ring and never shown again.
func CreateSubscription(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("subscribe", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		c, err := httpapi.KeyCaller(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		in, err := parseSubscribe(req, d.Config.Webhooks.Targets)
		if err != nil {
			return httpapi.Response{}, err
		}
		now := d.Now().UTC().Truncate(time.Second)
		sub := tokenstore.Subscription{
			ID: ids.New(ids.Subscription, now), TokenID: c.TokenID, UserID: c.UserID, EnvironmentID: c.EnvironmentID,
			Environment: c.Scope == httpapi.ScopeEnvironment, Event: in.event, Source: in.source,
			TargetURL: in.targetURL, CreatedAt: now,
		}
		secret := webhooks.NewSecret()
		ring, err := d.Keys.Ring(ctx)
		if err != nil {
			return httpapi.Response{}, err
		}
		v := ring.Current()
		if sub.SecretSealed, err = v.Seal([]byte(secret), subscriptionAAD(sub)); err != nil {
			return httpapi.Response{}, fmt.Errorf("seal subscription secret: %w", err)
		}
		sub.SecretVersion = v.ID()
		if err := d.Store.CreateSubscription(ctx, sub, d.Config.Webhooks.SubscriptionLimit); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusCreated, subscribedView{subscriptionViewOf(sub), secret}, noStore...), nil
	})
}

// ListSubscriptions is GET /v1/subscriptions: the key's token's subscriptions, newest first,
// without their secrets.
func ListSubscriptions(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("listsubscriptions", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		c, err := httpapi.KeyCaller(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		subs, next, err := listPage(ctx, d, req, cursor.Scope("subscriptions", c.EnvironmentID, c.TokenID),
			func(limit int, start map[string]string) ([]tokenstore.Subscription, map[string]string, error) {
				page, err := d.Store.ListSubscriptions(ctx, c.EnvironmentID, c.TokenID, limit, start)
				return page.Subscriptions, page.LastKey, err
			})
		if err != nil {
			return httpapi.Response{}, err
		}
		out := subscriptionListView{Items: make([]subscriptionView, 0, len(subs)), NextCursor: next}
		for _, s := range subs {
			out.Items = append(out.Items, subscriptionViewOf(s))
		}
		return httpapi.JSON(http.StatusOK, out), nil
	})
}

// subscriptionID reads the {id} path parameter of a subscription route.
func subscriptionID(req httpapi.Request) (string, error) {
	id := req.PathParameters["id"]
	if !ids.Valid(ids.Subscription, id) {
		return "", errInvalidSubscriptionID
	}
	return id, nil
}

// DeleteSubscription is DELETE /v1/subscriptions/{id}: the subscription ends; nothing more is
// sent to it.
func DeleteSubscription(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("unsubscribe", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		c, err := httpapi.KeyCaller(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		id, err := subscriptionID(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := d.Store.DeleteSubscription(ctx, c.EnvironmentID, c.TokenID, id); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.NoContent(), nil
	})
}

// SubscriptionAttempts is GET /v1/subscriptions/{id}/attempts: the subscription's recent
// delivery attempts, newest first.
func SubscriptionAttempts(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("attempts", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		c, err := httpapi.KeyCaller(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		id, err := subscriptionID(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		attempts, next, err := listPage(ctx, d, req, cursor.Scope("attempts", c.EnvironmentID, c.TokenID, id),
			func(limit int, start map[string]string) ([]tokenstore.Attempt, map[string]string, error) {
				// Another token's subscription answers 404, not an empty list.
				if _, err := d.Store.Subscription(ctx, c.EnvironmentID, c.TokenID, id); err != nil {
					return nil, nil, err
				}
				page, err := d.Store.ListAttempts(ctx, c.EnvironmentID, id, limit, start)
				return page.Attempts, page.LastKey, err
			})
		if err != nil {
			return httpapi.Response{}, err
		}
		out := attemptListView{Items: make([]attemptView, 0, len(attempts)), NextCursor: next}
		for _, a := range attempts {
			v := attemptView{ID: a.ID, WebhookID: a.WebhookID, Event: a.Event, At: apiTime(a.At), Status: a.Status}
			if a.Code != 0 {
				v.Code = &a.Code
			}
			out.Items = append(out.Items, v)
		}
		return httpapi.JSON(http.StatusOK, out), nil
	})
}
