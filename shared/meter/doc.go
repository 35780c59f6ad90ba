// Package meter enforces a key's rate limit and monthly quota where a key-guarded route runs,
// and counts each token's calls by outcome. Wrap puts it in front of a route's handler: the
// limits come from the key authorizer's context (no read of their own); the counts are kept in
// DynamoDB by leases, blocks of allowance each function instance claims with one conditional
// write and spends from memory, so that many instances, frozen between invocations, agree on
// a limit at a fraction of a write per call. A call over a limit is answered 429 with
// Retry-After, and every answer to a metered key carries the RateLimit-Policy and RateLimit
// fields of the IETF draft (docs/metering.md).
package meter
