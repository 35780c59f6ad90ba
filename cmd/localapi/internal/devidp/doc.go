// Package devidp is the local run's development identity provider: an RSA key kept in the
// project's state folder, the OpenID Connect discovery document and JWKS that API Gateway's JWT
// authorizer reads, and RS256-signed sessions shaped like Cognito ID tokens.
package devidp
