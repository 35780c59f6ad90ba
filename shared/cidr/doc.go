// Package cidr reads a token's address allowlist: up to 20 IPv4 or IPv6 prefixes, normalised
// on write (the network address and its length, "10.0.0.0/8", a bare address as a one-host
// prefix), and decides whether a caller's source address is inside it.
package cidr
