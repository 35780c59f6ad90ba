package stack_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitokens/apitokens/cmd/internal/stack"
)

// guided is a samconfig.toml as `sam deploy --guided` leaves it, the build table first.
const guided = `version = 0.1

[default.build.parameters]
region = "us-east-1"

[default.deploy.parameters]
# answers of sam deploy --guided
stack_name = "apitokens-prod"
resolve_s3 = true
region = "eu-central-1"
parameter_overrides = "LogLevel=\"INFO\""

[default.local_start_api.parameters]
region = "us-east-1"
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "samconfig.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadSAMConfig(t *testing.T) {
	tests := map[string]struct {
		text string
		want stack.Deployed
	}{
		"guided":       {guided, stack.Deployed{StackName: "apitokens-prod", Region: "eu-central-1"}},
		"not deployed": {"version = 0.1\n[default.deploy.parameters]\nresolve_s3 = true\n", stack.Deployed{}},
		"other tables": {"[default.local_start_api.parameters]\nregion = \"us-east-1\"\n", stack.Deployed{}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := stack.ReadSAMConfig(writeConfig(t, tt.text))
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if got, err := stack.ReadSAMConfig(filepath.Join(t.TempDir(), "none.toml")); err != nil || got != (stack.Deployed{}) {
		t.Errorf("a missing file: got %+v, %v; want nothing and no error", got, err)
	}
}

// TestResolve checks the order: a flag, else samconfig.toml, else the defaults.
func TestResolve(t *testing.T) {
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	path := writeConfig(t, guided)
	tests := []struct {
		name                  string
		args                  []string
		wantStack, wantRegion string
	}{
		{"samconfig", []string{"-samconfig", path}, "apitokens-prod", "eu-central-1"},
		{"flags", []string{"-samconfig", path, "-stack", "other", "-region", "ap-south-1"}, "other", "ap-south-1"},
		{"no samconfig", []string{"-samconfig", filepath.Join(t.TempDir(), "none.toml")}, stack.DefaultName, "us-west-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := flag.NewFlagSet("test", flag.ContinueOnError)
			target := stack.Flags(fl)
			if err := fl.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, name, err := target.Resolve(context.Background())
			if err != nil || name != tt.wantStack || cfg.Region != tt.wantRegion {
				t.Errorf("got stack %q in %q, %v; want %q in %q", name, cfg.Region, err, tt.wantStack, tt.wantRegion)
			}
		})
	}
}
