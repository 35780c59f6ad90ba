// Package openapitest holds the API to its description: tests hand it every request they send
// and the response they get, and it reports each way the response breaks openapi.yaml (an
// undocumented status, a missing header, a body off its schema), checked by
// libopenapi-validator. The handler tests and the local run's end-to-end tests both use it.
package openapitest
