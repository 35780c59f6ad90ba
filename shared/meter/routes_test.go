package meter_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// TestKeyRoutesMetered holds template.yaml to the meter: the function of every route the key
// authorizer guards starts through meter.Start (which wraps its handler and flushes its usage
// at shutdown) and never through lambda.Start; a route added without it fails here. The key
// authorizer starts through meter.StartFlushing, so that the refusals it counts survive its
// shutdown too.
func TestKeyRoutesMetered(t *testing.T) {
	app, err := samtemplate.Load(filepath.Join(emulatortest.Root(), "template.yaml"), samtemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, rt := range app.Routes {
		if la, ok := app.LambdaAuthorizers[rt.Authorizer]; ok {
			want[rt.Function] = "Start"
			want[la.Function] = "StartFlushing"
		}
	}
	if len(want) < 8 {
		t.Fatalf("found %d key-guarded functions and authorizers in template.yaml, want the 7 routes and the authorizer", len(want))
	}
	for fn, start := range want {
		main := filepath.Join(app.Functions[fn].CodeDir, "main.go")
		calls := startCalls(t, main)
		if calls["meter."+start] != 1 || calls["lambda.Start"]+calls["lambda.StartWithOptions"]+calls["lambda.StartHandlerFunc"] != 0 {
			t.Errorf("%s (%s) starts with %v, want meter.%s once and no lambda.Start", fn, main, calls, start)
		}
	}
}

// startCalls counts the package-qualified calls in a Go file: "meter.Start" → 1.
func startCalls(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	ast.Inspect(f, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok {
					calls[pkg.Name+"."+sel.Sel.Name]++
				}
			}
		}
		return true
	})
	return calls
}
