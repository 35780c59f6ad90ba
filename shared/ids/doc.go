// Package ids makes the identifiers of tokens, audit records and webhook deliveries: a short
// kind prefix, then 26 Crockford base32 characters that hold a millisecond timestamp and 80 random
// bits. Ids made later sort after ids made earlier, so the table keeps its items newest-last and a
// reverse query lists them newest first.
package ids
