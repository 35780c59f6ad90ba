package samtemplate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Grant is one permission a function's policies give: an IAM action ("dynamodb:GetItem") on a
// resource of the template, named as GrantResource names it.
type Grant struct{ Action, Resource string }

func (g Grant) String() string { return g.Action + " on " + g.Resource }

// Function is one AWS::Serverless::Function of the template.
type Function struct {
	ID         string
	Routes     []string // its HttpApi events, "POST /v1/tokens"
	Authorizer bool     // an HttpApi's Lambda authorizer
	Grants     []Grant  // what its inline policies allow, sorted
}

// Functions returns every function of the template, sorted by logical id.
func (t *Template) Functions() []Function {
	resources, _ := t.raw["Resources"].(map[string]any)
	authorizers := map[string]bool{}
	for _, r := range resources {
		if obj(r)["Type"] != "AWS::Serverless::HttpApi" {
			continue
		}
		for _, a := range obj(obj(obj(obj(r)["Properties"])["Auth"])["Authorizers"]) {
			if ref, ok := strings.CutSuffix(getAtt(obj(obj(a)["FunctionArn"])["Fn::GetAtt"]), ".Arn"); ok {
				authorizers[ref] = true
			}
		}
	}
	var out []Function
	for id, r := range resources {
		if obj(r)["Type"] != "AWS::Serverless::Function" {
			continue
		}
		props := obj(obj(r)["Properties"])
		f := Function{ID: id, Authorizer: authorizers[id]}
		for _, ev := range obj(props["Events"]) {
			if obj(ev)["Type"] == "HttpApi" {
				p := obj(obj(ev)["Properties"])
				f.Routes = append(f.Routes, fmt.Sprintf("%v %v", p["Method"], p["Path"]))
			}
		}
		for _, pol := range list(props["Policies"]) {
			for _, st := range list(obj(pol)["Statement"]) {
				if obj(st)["Effect"] != "Allow" {
					continue
				}
				for _, a := range list(obj(st)["Action"]) {
					for _, r := range list(obj(st)["Resource"]) {
						f.Grants = append(f.Grants, Grant{fmt.Sprint(a), t.GrantResource(r)})
					}
				}
			}
		}
		slices.Sort(f.Routes)
		slices.SortFunc(f.Grants, func(a, b Grant) int { return strings.Compare(a.String(), b.String()) })
		f.Grants = slices.Compact(f.Grants)
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Function) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// GrantResource names a policy's Resource as an ARN of the template's: the table (TokensTable)
// for !GetAtt TokensTable.Arn, an index of it (TokensTable/index/gsi1) for
// !Sub "${TokensTable.Arn}/index/gsi1", and a secret's logical id for a !Ref to it (a secret's Ref
// is its ARN, where a table's is its name). Anything else is named by its JSON, which matches no
// resource.
func (t *Template) GrantResource(r any) string {
	m := obj(r)
	if len(m) == 1 {
		resources := obj(t.raw["Resources"])
		if ref, ok := m["Ref"].(string); ok && obj(resources[ref])["Type"] == "AWS::SecretsManager::Secret" {
			return ref
		}
		if res, ok := strings.CutSuffix(getAtt(m["Fn::GetAtt"]), ".Arn"); ok && resources[res] != nil {
			return res
		}
		if sub, ok := m["Fn::Sub"].(string); ok {
			if res, index, ok := strings.Cut(sub, ".Arn}/index/"); ok && strings.HasPrefix(res, "${") && resources[res[2:]] != nil {
				return res[2:] + "/index/" + index
			}
		}
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// list returns v as a list: a YAML list as is, a single value as a list of one.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// getAtt returns a GetAtt's argument as "Resource.Attribute", in either of its forms.
func getAtt(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		if len(x) == 2 {
			return fmt.Sprintf("%v.%v", x[0], x[1])
		}
	}
	return ""
}
