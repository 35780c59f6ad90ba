// Package docexamples finds the shell examples of the project's documents (README.md and
// docs/*.md) and the answer each is marked with, so that a test can run them against the local
// API, and checks the examples that need AWS against template.yaml and the Makefile.
//
// A shell example is a fenced block whose info string is sh, bash, shell, console or zsh, or an
// unlabelled block that starts with a command (curl, make, aws, sam, …). The line before its
// fence (blank lines aside) is its marker, one of:
//
//	<!-- expect: status=NNN[ code=<problem code>][ fields=a,b,c][ header=Name] -->
//	<!-- aws -->
//
// expect is about the last curl the block runs: its HTTP status, its problem code, top-level JSON
// fields present in its body, and a response header present. aws marks an example that needs an
// AWS account: it is not run, but the template parameters, stack outputs and make targets it
// names must exist.
package docexamples
