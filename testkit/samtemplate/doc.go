// Package samtemplate is the one reader of the project's template.yaml, shared by the template
// tests, the emulator and the local run, so that each builds from the one definition that is
// deployed, never from a second copy.
//
// Open parses the template; the Template holds it typed (goformation), raw (intrinsic functions
// as written, for the checks that must see what a Ref names), and resolved as SAM deploys it
// (App: every function with Globals merged in, the HttpApi routes its events declare and the
// authorizers those routes use, with the table and the secret pointed at chosen resources).
// Functions, CreateTableInput, TTLAttribute and GenerateSecretString read the template for the
// tests and the emulator.
package samtemplate
