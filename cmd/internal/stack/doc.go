// Package stack reads the outputs of a deployed API Tokens stack, so that the operator commands
// (cmd/admin, cmd/rotatekeyring) find the user pool and the key ring secret by the stack's name.
package stack
