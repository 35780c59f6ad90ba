// Package keyring holds the service's secret material: the versioned key ring kept as flat JSON in
// one Secrets Manager secret, e.g. {"current":"k2","k1":"…","k2":"…"}.
//
// Each version's string is expanded with HKDF-SHA256 into three independent keys: an HMAC-SHA256
// key that finds and checks API keys, an AES-256-GCM key that seals API keys for View key, and an
// AES-256-GCM key that seals paging cursors. A stored token records the version it was made with,
// so adding a version and pointing "current" at it rotates without breaking existing tokens.
//
// Source fetches the secret, keeps it in memory for a few minutes, and keeps the last good ring
// when a later fetch fails.
package keyring
