package samtemplate

import (
	"encoding/json"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// resolvedDoc is the template with its parameters, conditions and intrinsics resolved, read as
// goformation's types and as the parts goformation leaves out.
type resolvedDoc struct {
	tmpl    cloudformation.Template
	logging loggingDoc
	params  paramsDoc
	// step says what failed: "read", "resolve" or "parse".
	step string
}

// resolve resolves the template's intrinsics with the parameter overrides and references of
// opts, and parses the result.
func (t *Template) resolve(opts Options) (resolvedDoc, error) {
	overrides := map[string]any{}
	for k, v := range opts.Parameters {
		overrides[k] = v
	}
	unconditional, err := withoutResourceConditions(t.data)
	if err != nil {
		return resolvedDoc{step: "read"}, err
	}
	resolved, err := intrinsics.ProcessJSON(unconditional, &intrinsics.ProcessorOptions{
		ParameterOverrides: overrides,
		// Fn::If picks the JWT authorizer's issuer and audience by IdentityProvider.
		EvaluateConditions: true,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        refHandler(opts.Refs),
			"Fn::GetAtt": getAttHandler(opts.Refs),
		},
	})
	if err != nil {
		return resolvedDoc{step: "resolve"}, err
	}
	doc := resolvedDoc{step: "parse"}
	typed, err := TypedJSON(resolved)
	if err != nil {
		return doc, err
	}
	if err := json.Unmarshal(typed, &doc.tmpl); err != nil {
		return doc, err
	}
	// goformation's Function types have no LoggingConfig: read it from the resolved document.
	if err := json.Unmarshal(resolved, &doc.logging); err != nil {
		return doc, err
	}
	if err := json.Unmarshal(resolved, &doc.params); err != nil {
		return doc, err
	}
	return doc, nil
}

// withoutResourceConditions returns the YAML template as JSON without the Condition of its
// resources and outputs: goformation, evaluating conditions for Fn::If, would put the
// condition's value in place of each whole resource. The local run serves every function
// whatever the conditions; only the values Fn::If picks depend on them.
func withoutResourceConditions(data []byte) ([]byte, error) {
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	for _, section := range []string{"Resources", "Outputs"} {
		entries, _ := doc[section].(map[string]any)
		for _, e := range entries {
			if m, ok := e.(map[string]any); ok {
				delete(m, "Condition")
			}
		}
	}
	return json.Marshal(doc)
}

type paramsDoc struct {
	Parameters map[string]struct {
		Default any `json:"Default"`
	} `json:"Parameters"`
}

// refHandler resolves Ref as CloudFormation would for the local run: pseudo parameters and parameters
// (a CommaDelimitedList becomes a list), the given resources, and any other resource's logical id.
func refHandler(refs map[string]string) intrinsics.IntrinsicHandler {
	return func(name string, input, template any) any {
		id, ok := input.(string)
		if !ok {
			return nil
		}
		if v, ok := refs[id]; ok {
			return v
		}
		if p, ok := parameter(template, id); ok {
			def := p["Default"]
			if p["Type"] == "CommaDelimitedList" {
				if s, ok := def.(string); ok {
					return splitList(s)
				}
			}
			return def
		}
		if strings.HasPrefix(id, "AWS::") {
			return intrinsics.Ref(name, input, template)
		}
		return id
	}
}

// getAttHandler resolves Fn::GetAtt for Arn attributes with the ARN the resource would have.
func getAttHandler(refs map[string]string) intrinsics.IntrinsicHandler {
	return func(_ string, input, template any) any {
		var id, attr string
		switch v := input.(type) {
		case string:
			id, attr, _ = strings.Cut(v, ".")
		case []any:
			if len(v) == 2 {
				id, _ = v[0].(string)
				attr, _ = v[1].(string)
			}
		}
		if attr != "Arn" {
			return nil
		}
		switch resourceType(template, id) {
		case "AWS::Serverless::Function", "AWS::Lambda::Function":
			return "arn:aws:lambda:" + Region + ":" + AccountID + ":function:" + id
		case "AWS::DynamoDB::Table":
			name := id
			if v, ok := refs[id]; ok {
				name = v
			}
			return "arn:aws:dynamodb:" + Region + ":" + AccountID + ":table/" + name
		}
		return nil
	}
}

// functionOfARN returns the logical id in an ARN getAttHandler made for a function.
func functionOfARN(arn string) (string, bool) {
	prefix := "arn:aws:lambda:" + Region + ":" + AccountID + ":function:"
	id, ok := strings.CutPrefix(arn, prefix)
	return id, ok && id != ""
}

func parameter(template any, name string) (map[string]any, bool) {
	t, _ := template.(map[string]any)
	params, _ := t["Parameters"].(map[string]any)
	p, ok := params[name].(map[string]any)
	return p, ok
}

func resourceType(template any, id string) string {
	t, _ := template.(map[string]any)
	res, _ := t["Resources"].(map[string]any)
	r, _ := res[id].(map[string]any)
	s, _ := r["Type"].(string)
	return s
}
