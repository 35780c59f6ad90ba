// Package authorizer is the key authorizer: the Lambda authorizer (HTTP API payload 2.0, simple
// responses) that checks the API key of every integration call.
//
// A check refuses a malformed key before any lookup, then finds the key's lookup item with one
// strongly consistent GetItem keyed by the key's SHA-256, whatever the key ring holds; compares
// the key's HMAC under the ring version the token was made with (fetching the ring again when a
// rotation added that version since it was read) in constant time; and allows only an active,
// unexpired token. Answers, allowed or refused, are
// kept in memory for a few seconds; failures are never kept, and a failure of DynamoDB or
// Secrets Manager refuses nothing silently: the check returns an error and the gateway
// answers 500.
package authorizer
