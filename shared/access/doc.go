// Package access is the role table of the service in one place: who may do what to which token.
//
//	agent (session)  create User tokens for self; read, rename, reveal, deactivate, activate,
//	                 delete and audit own tokens
//	admin (session)  all of that, plus create Admin tokens, list any user's tokens, and read,
//	                 rename, deactivate, activate, delete and audit any token of the environment,
//	                 but never reveal another user's key
//
// A token of another environment, or another user's token seen by an agent, is reported as not
// found: the caller cannot learn that the id exists.
package access
