package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// identityProviderActor is who an audit record names when the identity provider's own event
// deactivated a token.
const identityProviderActor = "identity-provider"

// cloudTrailCall is the part of an "AWS API Call via CloudTrail" event's detail that names the
// user: Cognito's AdminDisableUser, AdminDeleteUser and the like carry the user pool and the
// user name (with this stack's pool, the user's sub) in requestParameters, and some carry the
// sub in additionalEventData.
type cloudTrailCall struct {
	EventName         string `json:"eventName"`
	RequestParameters struct {
		Username string `json:"username"`
	} `json:"requestParameters"`
	AdditionalEventData struct {
		Sub string `json:"sub"`
	} `json:"additionalEventData"`
}

// OwnerLeftResult is what OwnerLeft did, for its log line and its caller.
type OwnerLeftResult struct {
	User        string `json:"user"`
	Deactivated int    `json:"deactivated"`
}

// OwnerLeft is the function an EventBridge rule calls when a user is disabled or deleted in the
// stack's Cognito user pool: it suspends every active token of that user, in every environment
// where they hold one, each with an audit record. An event that names no usable user changes
// nothing; a failed write is an error, so that EventBridge retries the event.
func OwnerLeft(d *service.Deps) func(context.Context, events.CloudWatchEvent) (OwnerLeftResult, error) {
	return func(ctx context.Context, ev events.CloudWatchEvent) (OwnerLeftResult, error) {
		var call cloudTrailCall
		if err := json.Unmarshal(ev.Detail, &call); err != nil {
			d.Log.Warn("owner left: unreadable event", "id", ev.ID, "err", err.Error())
			return OwnerLeftResult{}, nil
		}
		user := call.AdditionalEventData.Sub
		if user == "" {
			user = call.RequestParameters.Username
		}
		if !httpapi.ValidID(user) {
			d.Log.Warn("owner left: no user in event", "id", ev.ID, "event", call.EventName)
			return OwnerLeftResult{}, nil
		}
		n, err := DeactivateOwner(ctx, d, user, "owner "+call.EventName)
		if err != nil {
			return OwnerLeftResult{}, err
		}
		d.Log.Info("owner left", "id", ev.ID, "event", call.EventName, "user", user, "deactivated", n)
		return OwnerLeftResult{User: user, Deactivated: n}, nil
	}
}

// DeactivateOwner suspends every active token of user in every environment where they hold one,
// as their leaving the identity provider (why) asks, and reports each as key.deactivated.
func DeactivateOwner(ctx context.Context, d *service.Deps, user, why string) (int, error) {
	envs, err := d.Store.UserEnvironments(ctx, user)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, env := range envs {
		done, err := d.Store.DeactivateUser(ctx, env, user, why, tokenstore.Actor{UserID: identityProviderActor})
		keyEvents(ctx, d, eventqueue.KeyDeactivated, done) // a retried event finds these inactive
		total += len(done)
		if err != nil {
			return total, fmt.Errorf("deactivate tokens of %s in %s: %w", user, env, err)
		}
	}
	return total, nil
}
