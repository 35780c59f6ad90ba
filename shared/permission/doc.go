// Package permission is the catalogue of permissions a key may hold and the permission each
// route of the key authorizer needs, both generated from openapi.yaml (cmd/permgen), and the
// parsing and checking of a token's permissions: nil is full access, a list holds
// <resource>:read and <resource>:write names, and write implies read.
package permission

//go:generate go run ../../cmd/permgen -o catalogue_gen.go ../../openapi.yaml
