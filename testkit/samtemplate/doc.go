// Package samtemplate reads the project's template.yaml, so that the tests and the local run build
// the table and the secret from the one definition that is deployed, never from a second copy.
package samtemplate
