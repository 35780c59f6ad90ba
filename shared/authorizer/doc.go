// Package authorizer is the key authorizer: the Lambda authorizer (HTTP API payload 2.0, simple
// responses) that checks the API key of every integration call.
//
// A check refuses a malformed key before any lookup, then finds the key's lookup item with one
// strongly consistent GetItem (keyed by the key's HMAC under the current key ring version; a key
// made under an older version costs one more GetItem per newer version), compares the MAC in
// constant time, and allows only an active, unexpired token. Answers, allowed or refused, are
// kept in memory for a few seconds; failures are never kept, and a failure of DynamoDB or
// Secrets Manager refuses nothing silently: the check returns an error and the gateway
// answers 500.
package authorizer
