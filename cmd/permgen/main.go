// Command permgen writes shared/permission's route table from openapi.yaml: the permission
// catalogue (the x-permissions of the apiKey security scheme) and, for every operation the key
// authorizer guards, the permission it needs. `go generate ./shared/permission` runs it; a test
// fails when the file it wrote is not current.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "", "the Go file to write")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: permgen -o catalogue_gen.go openapi.yaml")
		os.Exit(2)
	}
	src, err := Generate(flag.Arg(0))
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "permgen:", err)
		os.Exit(1)
	}
}
