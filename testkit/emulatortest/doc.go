// Package emulatortest runs one emulator per test binary and gives each test a fresh table and
// key ring secret of its own, made from template.yaml, so tests never see each other's items.
package emulatortest
