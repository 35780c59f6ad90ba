package tokenstore

import "encoding/base64"

// ItemKind is one kind of item the table holds: its kind attribute, what it is, and the shapes of
// its keys as docs/storage.md shows them ("" where the kind sets no such attribute).
type ItemKind struct {
	Kind   string
	About  string
	PK     string
	SK     string
	GSI1PK string
	GSI1SK string
	GSI2PK string
	GSI2SK string
}

// Kinds of item, as each item's kind attribute names it.
const (
	kindToken          = "token"
	kindKey            = "key"
	kindCount          = "count"
	kindAudit          = "audit"
	kindIdem           = "idempotency"
	kindDelivery       = "delivery"
	kindDeliverySource = "delivery-by-source"
	kindDeliveryIdem   = "delivery-idempotency"
	// kindPreviousKey is the lookup item of a rolled token's previous key during its grace.
	kindPreviousKey = "previousKey"
	// kindPolicy is an environment's token policy; kindUserEnvironment says a user holds or held
	// a token in an environment, so that the tokens of a user who left can be found from the
	// user alone.
	kindPolicy          = "policy"
	kindUserEnvironment = "user-environment"

	kindSubscription      = "subscription"
	kindSubscriptionCount = "subscription-count"
	kindAttempt           = "attempt"
	kindExpiry            = "expiry"
	kindUsage             = "usage"
	// kindMeterWindow and kindMeterMonth count what the function instances claimed of a
	// token's rate-limit window and of its monthly quota (Store.Claim).
	kindMeterWindow = "meter-window"
	kindMeterMonth  = "meter-month"
)

// ItemKinds is every kind of item of the table, the one list docs/storage.md shows (a test keeps
// the two the same, and the key builders below to these shapes).
var ItemKinds = []ItemKind{
	{kindToken, "token", "ENV#<environment>", "TOKEN#<id>", "OWNER#<environment>#<user>", "TOKEN#<id>", "STATUS#<environment>#<status>", "TOKEN#<id>"},
	{kindKey, "key lookup (what the authorizer reads)", "KEY#<SHA-256 of the API key>", "KEY", "", "", "", ""},
	{kindPreviousKey, "a rolled token's previous key lookup, during its grace", "KEY#<SHA-256 of the API key>", "KEY", "", "", "", ""},
	{kindCount, "per-user count (enforces the limit)", "ENV#<environment>", "COUNT#<user>", "", "", "", ""},
	{kindAudit, "audit record (400 days)", "AUDIT#<environment>#<token id>", "<audit id>", "", "", "", ""},
	{kindIdem, "idempotency record of a create (24 hours)", "ENV#<environment>", "IDEM#<user>#<SHA-256 of the key>", "", "", "", ""},
	{kindDelivery, "webhook delivery (30 days)", "HOOKS#<environment>#<user>", "EVT#<id>", "HOOKS#<environment>", "EVT#<id>", "", ""},
	{kindDeliverySource, "the same delivery under its source (30 days)", "HOOKSRC#<environment>#<user>#<source>", "EVT#<id>", "HOOKSRC#<environment>#<source>", "EVT#<id>", "", ""},
	{kindDeliveryIdem, "idempotency record of a delivery (30 days)", "IDEM#<environment>#<user>#<source>#<SHA-256 of the key>", "IDEM", "", "", "", ""},
	{kindPolicy, "the environment's token policy", "ENV#<environment>", "POLICY", "", "", "", ""},
	{kindUserEnvironment, "an environment where a user holds or held tokens", "USER#<user>", "ENV#<environment>", "", "", "", ""},
	{kindSubscription, "webhook subscription of a token (an Admin token's gsi1pk has no user)", "SUBS#<environment>#<token id>", "SUB#<id>", "SUBEVT#<environment>#<event>#<user>", "SUB#<id>", "", ""},
	{kindSubscriptionCount, "per-token subscription count (enforces the limit)", "SUBS#<environment>#<token id>", "COUNT", "", "", "", ""},
	{kindAttempt, "delivery attempt of a subscription (30 days)", "ATTEMPTS#<environment>#<subscription id>", "<attempt id>", "", "", "", ""},
	{kindExpiry, "a token under the day its key expires (until a week after)", "EXPIRES#<day>", "TOKEN#<environment>#<token id>", "", "", "", ""},
	{kindUsage, "a token's calls in one UTC hour, by outcome (400 days)", "USAGE#<environment>#<token id>", "HOUR#<hour>", "USAGE#<environment>", "HOUR#<hour>#<token id>", "", ""},
	{kindMeterWindow, "what a token's rate-limit window has claimed (until an hour after it)", "METER#<environment>#<token id>", "WINDOW#<seconds>#<start>", "", "", "", ""},
	{kindMeterMonth, "what a token's monthly quota has claimed (until 35 days after the month)", "METER#<environment>#<token id>", "MONTH#<yyyy-mm>", "", "", "", ""},
}

// The key builders: the only place a key of the table is spelt. User and environment ids hold no
// "#" (httpapi.ValidID) and a source none either, so no two sets of parts make the same key.
func envPK(env string) string              { return "ENV#" + env }
func tokenSK(id string) string             { return "TOKEN#" + id }
func ownerPK(env, user string) string      { return "OWNER#" + env + "#" + user }
func statusPK(env string, s Status) string { return "STATUS#" + env + "#" + string(s) }
func countSK(user string) string           { return "COUNT#" + user }
func auditPK(env, tokenID string) string   { return "AUDIT#" + env + "#" + tokenID }
func keyPK(hash []byte) string             { return "KEY#" + base64.RawURLEncoding.EncodeToString(hash) }
func idemSK(user, keySum string) string    { return "IDEM#" + user + "#" + keySum }
func hooksPK(env, user string) string      { return "HOOKS#" + env + "#" + user }
func userPK(user string) string            { return "USER#" + user }
func hooksEnvPK(env string) string         { return "HOOKS#" + env }
func eventSK(id string) string             { return "EVT#" + id }
func hookSourcePK(env, user, source string) string {
	return "HOOKSRC#" + env + "#" + user + "#" + source
}
func hookSourceEnvPK(env, source string) string { return "HOOKSRC#" + env + "#" + source }
func deliveryIdemPK(env, user, source, keySum string) string {
	return "IDEM#" + env + "#" + user + "#" + source + "#" + keySum
}

func subscriptionsPK(env, tokenID string) string { return "SUBS#" + env + "#" + tokenID }
func subscriptionSK(id string) string            { return "SUB#" + id }
func subscribersPK(env, event, user string) string {
	return "SUBEVT#" + env + "#" + event + "#" + user
}
func subscribersEnvPK(env, event string) string    { return "SUBEVT#" + env + "#" + event }
func attemptsPK(env, subscriptionID string) string { return "ATTEMPTS#" + env + "#" + subscriptionID }
func expiresPK(day string) string                  { return "EXPIRES#" + day }
func expiresSK(env, tokenID string) string         { return "TOKEN#" + env + "#" + tokenID }

const (
	keySK               = "KEY"
	deliveryIdemSK      = "IDEM"
	policySK            = "POLICY"
	subscriptionCountSK = "COUNT"
)
