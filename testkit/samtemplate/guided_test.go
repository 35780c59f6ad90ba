package samtemplate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// parameterPrompt matches a parameter's prompt in the table of docs/deploying.md as
// `sam deploy --guided` writes it: `Parameter <name> [<default>]`.
var parameterPrompt = regexp.MustCompile("`Parameter ([A-Za-z0-9]+) \\[([^`]*)\\]`")

// noAuthPrompt matches the question sam deploy --guided asks for a function routed without an
// authorizer, and whose default answer stops the deploy.
var noAuthPrompt = regexp.MustCompile("`([A-Za-z0-9]+) has no authentication\\. Is this okay\\? \\[y/N\\]` \\| \\*\\*`y`\\*\\*")

// parameterOrder returns the template's parameters in the order they are written, the order in
// which sam deploy --guided asks for them.
func parameterOrder(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "Parameters" {
			var names []string
			for j := 0; j < len(top.Content[i+1].Content); j += 2 {
				names = append(names, top.Content[i+1].Content[j].Value)
			}
			return names
		}
	}
	t.Fatal("template.yaml has no Parameters")
	return nil
}

// unauthenticated returns the functions that have an HttpApi event with no authorizer: on an API
// without a default authorizer, or with Authorizer NONE. sam deploy --guided asks about each.
func unauthenticated(p *parsed) []string {
	var out []string
	fns, ids := p.resources("AWS::Serverless::Function")
	for _, id := range ids {
		for _, ev := range obj(obj(fns[id]["Properties"])["Events"]) {
			props := obj(obj(ev)["Properties"])
			if obj(ev)["Type"] != "HttpApi" {
				continue
			}
			api := obj(obj(obj(p.raw["Resources"])[fmt.Sprint(obj(props["ApiId"])["Ref"])])["Properties"])
			authorizer, _ := obj(props["Auth"])["Authorizer"].(string)
			if authorizer == "NONE" || (authorizer == "" && obj(api["Auth"])["DefaultAuthorizer"] == nil) {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

// TestGuidedDeployPrompts holds the prompt table of docs/deploying.md to the template: one
// prompt per parameter, in the template's order, showing the template's default; and the
// question about every function without an authorizer, answered yes.
func TestGuidedDeployPrompts(t *testing.T) {
	p, root := loadTemplate(t)
	data, err := os.ReadFile(filepath.Join(root, "docs", "deploying.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	var names []string
	for _, m := range parameterPrompt.FindAllStringSubmatch(doc, -1) {
		names = append(names, m[1])
		def, ok := obj(obj(p.raw["Parameters"])[m[1]])["Default"]
		if want := fmt.Sprint(def); ok && m[2] != want {
			t.Errorf("docs/deploying.md: prompt of %s shows [%s], want the template's default [%s]", m[1], m[2], want)
		}
	}
	if want := parameterOrder(t, filepath.Join(root, "template.yaml")); !slices.Equal(names, want) {
		t.Errorf("docs/deploying.md: parameter prompts got %v, want the template's parameters in order %v", names, want)
	}
	var asked []string
	for _, m := range noAuthPrompt.FindAllStringSubmatch(doc, -1) {
		asked = append(asked, m[1])
	}
	if want := unauthenticated(p); len(want) == 0 || !slices.Equal(asked, want) {
		t.Errorf("docs/deploying.md: answers yes to \"has no authentication\" for %v, want %v (every function routed without an authorizer)", asked, want)
	}
	for _, prompt := range []string{"Stack Name", "AWS Region", "Confirm changes before deploy", "Allow SAM CLI IAM role creation", "Disable rollback", "Save arguments to configuration file", "SAM configuration file", "SAM configuration environment", "Deploy this changeset?"} {
		if !strings.Contains(doc, "`"+prompt+" [") {
			t.Errorf("docs/deploying.md: no row for the prompt %q", prompt)
		}
	}
}
