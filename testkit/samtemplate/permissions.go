package samtemplate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Grant is one permission a function's policies give: an IAM action ("dynamodb:GetItem") on a
// resource of the template, named as GrantResource names it.
type Grant struct{ Action, Resource string }

// String names the grant: "dynamodb:GetItem on TokensTable".
func (g Grant) String() string { return g.Action + " on " + g.Resource }

// FunctionGrants is what one AWS::Serverless::Function of the template may do, and who calls it.
type FunctionGrants struct {
	ID         string
	Routes     []string // the keys of its HttpApi routes, "POST /v1/tokens"
	Authorizer bool     // an HttpApi's Lambda authorizer
	Grants     []Grant  // what its inline policies allow, sorted
	// Polls are the queues an AWS::Lambda::EventSourceMapping of the template reads for it, with
	// the function's role: the mapping, not the function's code, needs their grants.
	Polls []string
}

// Functions returns every function of the template, sorted by logical id: its routes and whether
// it is an authorizer as App reads them, and the grants of its policies as written.
func (t *Template) Functions() ([]FunctionGrants, error) {
	app, err := t.App(Options{})
	if err != nil {
		return nil, err
	}
	resources := obj(t.raw["Resources"])
	var out []FunctionGrants
	for _, id := range slices.Sorted(maps.Keys(app.Functions)) {
		f := FunctionGrants{ID: id}
		for _, r := range app.Routes {
			if r.Function == id {
				f.Routes = append(f.Routes, r.Key())
			}
		}
		for _, a := range app.LambdaAuthorizers {
			f.Authorizer = f.Authorizer || a.Function == id
		}
		for _, pol := range list(obj(obj(resources[id])["Properties"])["Policies"]) {
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
		for _, r := range resources {
			props := obj(obj(r)["Properties"])
			if obj(r)["Type"] == "AWS::Lambda::EventSourceMapping" && obj(props["FunctionName"])["Ref"] == id {
				f.Polls = append(f.Polls, strings.TrimSuffix(getAtt(obj(props["EventSourceArn"])["Fn::GetAtt"]), ".Arn"))
			}
		}
		slices.Sort(f.Routes)
		slices.SortFunc(f.Grants, func(a, b Grant) int { return strings.Compare(a.String(), b.String()) })
		f.Grants = slices.Compact(f.Grants)
		out = append(out, f)
	}
	return out, nil
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
