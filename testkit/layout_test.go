package testkit_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// dashboardModuleLines is the most lines one module of dashboard/js may hold: a view to a
// module, each read in one sitting.
const dashboardModuleLines = 250

// jsImport finds the specifier of a module's static import or re-export (`import { a } from
// "./list.js"`, `import "./x.js"`, `export * from "./y.js"`); an import clause holds no quote or
// parenthesis, so an exported function's or constant's strings are not taken for one.
var jsImport = regexp.MustCompile(`(?m)^(?:import|export)\b[^;"'()]*?["']([^"']+)["']`)

// TestDashboardModules holds the page's code to its shape: one module per view, none over
// dashboardModuleLines lines, and no build step, so every import names a module of
// dashboard/js by its relative path, as a browser loads it.
func TestDashboardModules(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "dashboard", "js", "*.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no module in dashboard/js (%v)", err)
	}
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for sc := bufio.NewScanner(strings.NewReader(string(text))); sc.Scan(); {
			lines++
		}
		if lines > dashboardModuleLines {
			t.Errorf("%s has %d lines, want at most %d: split it by view (docs/dashboard.md)", rel(file), lines, dashboardModuleLines)
		}
		for _, m := range jsImport.FindAllStringSubmatch(string(text), -1) {
			spec := m[1]
			if !strings.HasPrefix(spec, "./") || !strings.HasSuffix(spec, ".js") {
				t.Errorf("%s imports %q: a module of dashboard/js is imported by its relative path (./name.js), with no build step", rel(file), spec)
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(file), filepath.FromSlash(spec))); err != nil {
				t.Errorf("%s imports %q: %v", rel(file), spec, err)
			}
		}
	}
}
