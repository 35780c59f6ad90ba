// Package emulator starts the local AWS emulator (moto server, from the project's virtual
// environment) on a free loopback port and provisions it from template.yaml: the table, its
// time-to-live attribute, and the key ring secret with generated material. The tests and the
// local run both use it, so there is one way to stand the service's AWS side up.
package emulator
