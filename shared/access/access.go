package access

import (
	"net/http"

	"github.com/apitokens/apitokens/shared/fault"
)

// Refusals, each with its HTTP answer.
var (
	// ErrNotFound hides a token the caller may not know about: it answers as a missing token.
	ErrNotFound = fault.Domain("token not visible to caller", http.StatusNotFound, "token_not_found", "No token with this id.")
	// ErrAdminRequired refuses an agent what only an admin may do.
	ErrAdminRequired = fault.Domain("admin required", http.StatusForbidden, "admin_required", "Only an administrator of the environment may do this.")
	// ErrOwnerOnly refuses an admin the key of another user's token.
	ErrOwnerOnly = fault.Domain("owner only", http.StatusForbidden, "owner_only", "Only the token's owner may view its key.")
)

// Action is something done to an existing token.
type Action int

// Actions on an existing token.
const (
	Read Action = iota
	Rename
	Reveal
	Deactivate
	Activate
	Delete
	Audit
	// Roll gives a token a new key, which the answer holds: its owner's alone, like Reveal.
	Roll
	// RevokePreviousKey ends a rolled token's grace early.
	RevokePreviousKey
	// Transfer hands a token to another user: administrators only, their own tokens included.
	Transfer
)

// Principal is a signed-in dashboard user.
type Principal struct {
	UserID        string
	EnvironmentID string
	Admin         bool
}

// Owner is whose token it is.
type Owner struct {
	UserID        string
	EnvironmentID string
}

// Check decides whether p may do a to a token owned by o.
func (p Principal) Check(a Action, o Owner) error {
	if o.EnvironmentID != p.EnvironmentID {
		return ErrNotFound
	}
	if a == Transfer && !p.Admin {
		if o.UserID == p.UserID {
			return ErrAdminRequired
		}
		return ErrNotFound
	}
	if o.UserID == p.UserID {
		return nil
	}
	if !p.Admin {
		return ErrNotFound
	}
	if a == Reveal || a == Roll {
		return ErrOwnerOnly
	}
	return nil
}

// CheckAdmin decides whether p may do what only an administrator of the environment may: set the
// policy, suspend all of a user's tokens.
func (p Principal) CheckAdmin() error {
	if !p.Admin {
		return ErrAdminRequired
	}
	return nil
}

// CheckCreate decides whether p may create a token for self, of admin reach or not.
func (p Principal) CheckCreate(adminToken bool) error {
	if adminToken && !p.Admin {
		return ErrAdminRequired
	}
	return nil
}

// ListOwner resolves the owner filter of a list ("me", "all" or a user id) to the user whose
// tokens p may list, "" meaning every user of the environment.
func (p Principal) ListOwner(owner string) (string, error) {
	switch {
	case owner == "" || owner == "me" || owner == p.UserID:
		return p.UserID, nil
	case !p.Admin:
		return "", ErrAdminRequired
	case owner == "all":
		return "", nil
	}
	return owner, nil
}
