// Package devidp is the local run's development identity provider: an RSA key kept in the
// project's state folder, the OpenID Connect discovery document and JWKS that API Gateway's JWT
// authorizer reads, RS256-signed sessions shaped like Cognito ID tokens, and, for the dashboard,
// the Authorization Code flow with PKCE (S256): a sign-in form that asks who you are (user,
// environment, admin or agent) instead of a password, and a token endpoint that answers the ID
// token.
package devidp
