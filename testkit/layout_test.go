package testkit_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/apitokens/apitokens/"

// TestFunctionsLinkOnlyProduct fails when a Lambda function links a package of this module that
// is not under shared/: harness code (testkit/, cmd/) must never ship.
func TestFunctionsLinkOnlyProduct(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../functions/...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./functions/...: %v", err)
	}
	var product int
	for _, pkg := range strings.Fields(string(out)) {
		rel, ours := strings.CutPrefix(pkg, module)
		switch {
		case !ours, strings.HasPrefix(rel, "functions/"):
		case strings.HasPrefix(rel, "shared/"):
			product++
		default:
			t.Errorf("a function links %s: only packages under shared/ ship", pkg)
		}
	}
	if product == 0 {
		t.Errorf("go list named no package under shared/: got %q", out)
	}
}
