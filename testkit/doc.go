// Package testkit is the root of the harness: everything the tests and the local run need that
// no Lambda function ships. A package under testkit/ (or cmd/) is harness; a package under
// shared/ is product, linked into the functions. TestFunctionsLinkOnlyProduct holds the line;
// TestReadmeLayoutMatchesTree holds the README's layout table to the tree, and
// TestDocLinksResolve every relative link of README.md and docs/.
//
//	emulator      starts the local AWS emulator and provisions it from template.yaml
//	emulatortest  one emulator per test binary, a fresh table and key ring per test
//	metersim      one key through several independent meters at once
//	openapitest   holds requests and answers to openapi.yaml
//	samtemplate   reads template.yaml: functions, routes, authorizers, policies
//	secretscan    scans test output and logs for keys and session tokens
package testkit
