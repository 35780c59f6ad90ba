// Package apikey makes and parses API keys.
//
// A key is a fixed prefix (default "cbk_"), a body of 43 base62 characters drawn uniformly from
// crypto/rand (43·log2(62) ≈ 256 bits), and a 6-character base62 CRC32 (IEEE) checksum of the
// prefix and body, so that a typo or a truncated paste is refused before any lookup and a secret
// scanner can tell a real key from random text without asking the service. The whole key is
// URL-safe and matched by the regular expression that Pattern returns; for the default prefix:
//
//	\bcbk_[0-9A-Za-z]{49}\b
package apikey
