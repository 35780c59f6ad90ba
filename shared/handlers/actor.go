package handlers

import (
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// actor is who makes a change, for the audit record.
func actor(req httpapi.Request, userID string) tokenstore.Actor {
	ua := req.RequestContext.HTTP.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return tokenstore.Actor{UserID: userID, SourceIP: req.RequestContext.HTTP.SourceIP, UserAgent: ua}
}
