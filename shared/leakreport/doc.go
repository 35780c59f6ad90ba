// Package leakreport reads the reports of GitHub's secret scanning partner program: a signed
// JSON array of the keys GitHub found in public, checked against GitHub's published ECDSA
// P-256 public keys, and the feedback array GitHub expects in return. It knows nothing of the
// table; the handler decides what a reported key means.
package leakreport
