// Package gateway plays API Gateway for the local run: it matches requests to the HttpApi's
// routes, applies each route's authorizer (the JWT authorizer's checks, or a Lambda authorizer
// with its result cache), turns requests into payload format 2.0 events and function results
// back into responses, and answers with API Gateway's own bodies where API Gateway would.
package gateway
