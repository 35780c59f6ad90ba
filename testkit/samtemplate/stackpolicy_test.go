package samtemplate_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// stackPolicy is a CloudFormation stack policy document.
type stackPolicy struct {
	Statement []struct {
		Effect, Principal string
		Action, Resource  any
	}
}

// allows reports whether the policy lets an update take action ("Update:Modify", "Update:Replace"
// or "Update:Delete") on the resource id, as CloudFormation evaluates it ("Prevent updates to
// stack resources", CloudFormation user guide): an explicit Deny wins, then an Allow; with neither
// the update is refused. Actions and resources may end in a * wildcard.
func (sp stackPolicy) allows(id, action string) bool {
	matches := func(patterns any, s string) bool {
		return slices.ContainsFunc(list(patterns), func(p any) bool {
			ps := fmt.Sprint(p)
			if prefix, ok := strings.CutSuffix(ps, "*"); ok {
				return strings.HasPrefix(s, prefix)
			}
			return ps == s
		})
	}
	allowed := false
	for _, st := range sp.Statement {
		if !matches(st.Action, action) || !matches(st.Resource, "LogicalResourceId/"+id) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = allowed || st.Effect == "Allow"
	}
	return allowed
}

// updateActions are the three kinds of update a stack policy names.
var updateActions = []string{"Update:Modify", "Update:Replace", "Update:Delete"}

// wantRefused are the updates the stack policy must refuse, by resource: nothing may change the
// key ring secret (a changed GenerateSecretString makes a new ring over the rotated one); what
// holds data or people's access is never replaced or removed; the hosted domain is never
// replaced (Cognito refuses the new one while the old one stands) but may be removed, the first
// of the two deploys that change its prefix. secretModify says whether the secret may be modified
// in place: only under stack-policy-secret-update.json, the way through for harmless changes such
// as stack tags.
func wantRefused(id string, secretModify bool) []string {
	switch id {
	case samtemplate.SecretResource:
		if secretModify {
			return []string{"Update:Replace", "Update:Delete"}
		}
		return updateActions
	case samtemplate.TableResource, userPool, adminGroup:
		return []string{"Update:Replace", "Update:Delete"}
	case hostedDomain:
		return []string{"Update:Replace"}
	}
	return nil
}

// stackPolicyProblems checks a stack policy against wantRefused for every resource of the
// template (any other update allowed), and that it names only resources the template has.
func stackPolicyProblems(p *parsed, name string, policy stackPolicy, secretModify bool) []string {
	var problems []string
	res := obj(p.raw["Resources"])
	for _, st := range policy.Statement {
		for _, r := range list(st.Resource) {
			if id, ok := strings.CutPrefix(fmt.Sprint(r), "LogicalResourceId/"); ok && res[id] == nil {
				problems = append(problems, fmt.Sprintf("%s names %s, which the template does not have", name, id))
			}
		}
	}
	ids := make([]string, 0, len(res))
	for id := range res {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		refused := wantRefused(id, secretModify)
		for _, a := range updateActions {
			if want := !slices.Contains(refused, a); policy.allows(id, a) != want {
				problems = append(problems, fmt.Sprintf("%s: %s of %s allowed %v, want %v", name, a, id, !want, want))
			}
		}
	}
	return problems
}

func readStackPolicy(t *testing.T, path string) stackPolicy {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sp stackPolicy
	if err := json.Unmarshal(data, &sp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return sp
}

// TestStackPolicy checks stack-policy.json, which docs/deploying.md has the deployer set once,
// and stack-policy-secret-update.json, which it sets for one deploy that must modify the secret in
// place (stack tags) and then sets the first one back; and that the checks see a policy that
// protects too little or too much.
func TestStackPolicy(t *testing.T) {
	p, root := loadTemplate(t)
	policy := readStackPolicy(t, filepath.Join(root, "stack-policy.json"))
	override := readStackPolicy(t, filepath.Join(root, "stack-policy-secret-update.json"))
	for _, problem := range stackPolicyProblems(p, "stack-policy.json", policy, false) {
		t.Error(problem)
	}
	for _, problem := range stackPolicyProblems(p, "stack-policy-secret-update.json", override, true) {
		t.Error(problem)
	}

	breaks := []struct {
		name         string
		edit         func(sp *stackPolicy)
		secretModify bool
		want         string
	}{
		{"admin group left out", func(sp *stackPolicy) {
			sp.Statement[2].Resource = []any{"LogicalResourceId/TokensTable", "LogicalResourceId/UserPool"}
		}, false, "Update:Delete of UserPoolAdminGroup allowed true, want false"},
		{"secret modify allowed", func(sp *stackPolicy) {
			sp.Statement[1].Action = []any{"Update:Replace", "Update:Delete"}
		}, false, "Update:Modify of KeyRingSecret allowed true, want false"},
		{"domain removal refused", func(sp *stackPolicy) {
			sp.Statement[3].Action = "Update:*"
		}, false, "Update:Delete of UserPoolDomain allowed false, want true"},
		{"everything refused", func(sp *stackPolicy) {
			sp.Statement = sp.Statement[1:]
		}, false, "Update:Modify of MeFunction allowed false, want true"},
		{"override that still refuses the tags", func(sp *stackPolicy) {
			sp.Statement[1].Action = "Update:*"
		}, true, "Update:Modify of KeyRingSecret allowed false, want true"},
		{"a resource the template lacks", func(sp *stackPolicy) {
			sp.Statement[3].Resource = "LogicalResourceId/HostedDomain"
		}, false, "names HostedDomain, which the template does not have"},
	}
	for _, b := range breaks {
		t.Run(b.name, func(t *testing.T) {
			file := "stack-policy.json"
			if b.secretModify {
				file = "stack-policy-secret-update.json"
			}
			sp := readStackPolicy(t, filepath.Join(root, file))
			b.edit(&sp)
			problems := stackPolicyProblems(p, "edited", sp, b.secretModify)
			if !slices.ContainsFunc(problems, func(s string) bool { return strings.Contains(s, b.want) }) {
				t.Errorf("problems got %q, want one that contains %q", problems, b.want)
			}
		})
	}
}
