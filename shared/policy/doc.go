// Package policy is an environment's token policy: a maximum lifetime, whether agents may hold
// full-access tokens, which permissions agents may grant, whether an address allowlist is
// required, and the default and maximum rate limits; and the limits a token may carry (a rate
// limit and a monthly quota), read from a request. It checks a policy an administrator sets,
// and tells whether a token complies, naming the rule it breaks.
package policy
