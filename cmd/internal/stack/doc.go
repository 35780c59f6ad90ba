// Package stack finds a deployed API Tokens stack for the operator commands (cmd/admin,
// cmd/rotatekeyring): its name and region as `sam deploy --guided` saved them in samconfig.toml,
// and its outputs, which name the user pool and the key ring secret.
package stack
