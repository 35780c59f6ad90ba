package samtemplate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// TestLoadReservedConcurrency reads ReservedConcurrentExecutions as SAM merges it: the
// function's own value wins over Globals, 0 is a value (the function is always throttled), and
// a function with neither has none.
func TestLoadReservedConcurrency(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "c"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const withGlobal = `Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    ReservedConcurrentExecutions: 7
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: a/, ReservedConcurrentExecutions: 2}
  B:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: b/}
  C:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: c/, ReservedConcurrentExecutions: 0}
`
	const without = `Transform: AWS::Serverless-2016-10-31
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: a/}
`
	for _, tt := range []struct {
		name, template string
		want           map[string]int // -1: none
	}{
		{"globals", withGlobal, map[string]int{"A": 2, "B": 7, "C": 0}},
		{"none", without, map[string]int{"A": -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(path, []byte(tt.template), 0o644); err != nil {
				t.Fatal(err)
			}
			app, err := samtemplate.Load(path, samtemplate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range tt.want {
				got := app.Functions[id].ReservedConcurrency
				switch {
				case want < 0 && got != nil:
					t.Errorf("%s: ReservedConcurrency = %d, want none", id, *got)
				case want >= 0 && (got == nil || *got != want):
					t.Errorf("%s: ReservedConcurrency = %v, want %d", id, got, want)
				}
			}
		})
	}
}
