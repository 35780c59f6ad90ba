package samtemplate_test

import (
	"fmt"
	"slices"
)

// checkKeyIdentity checks that the key authorizer's identity sources hold the route and the
// source address besides the key, so that API Gateway's result cache never carries an allow
// from one route or address to another (a key's permissions and allowed CIDRs).
func checkKeyIdentity(p *parsed) []string {
	api := obj(obj(p.raw["Resources"])["Api"])
	identity := obj(obj(obj(obj(obj(api["Properties"])["Auth"])["Authorizers"])[apiKeyAuthorizer])["Identity"])
	var problems []string
	if got := fmt.Sprint(identity["Headers"]); got != "[Authorization]" {
		problems = append(problems, fmt.Sprintf("authorizer %s: identity headers got %s, want [Authorization]", apiKeyAuthorizer, got))
	}
	var context []string
	for _, c := range list(identity["Context"]) {
		context = append(context, fmt.Sprint(c))
	}
	for _, want := range []string{"routeKey", "identity.sourceIp"} {
		if !slices.Contains(context, want) {
			problems = append(problems, fmt.Sprintf("authorizer %s: identity context got %v, want $context.%s among them", apiKeyAuthorizer, context, want))
		}
	}
	return problems
}

// checkOwnerLeft checks the rule that suspends the tokens of a user who leaves the stack's user
// pool: an EventBridge rule on CloudTrail's record of Cognito's AdminDisableUser and
// AdminDeleteUser for that pool, feeding OwnerLeftFunction.
func checkOwnerLeft(p *parsed) []string {
	fn := obj(obj(p.raw["Resources"])["OwnerLeftFunction"])
	if fn == nil {
		return []string{"OwnerLeftFunction is missing"}
	}
	var problems []string
	var rule map[string]any
	for _, ev := range obj(obj(fn["Properties"])["Events"]) {
		if obj(ev)["Type"] == "EventBridgeRule" {
			rule = obj(obj(ev)["Properties"])
		}
	}
	if rule == nil {
		return []string{"OwnerLeftFunction: no EventBridgeRule event"}
	}
	pattern := obj(rule["Pattern"])
	detail := obj(pattern["detail"])
	names := fmt.Sprint(detail["eventName"])
	for _, want := range []string{"AdminDisableUser", "AdminDeleteUser"} {
		if !slices.Contains(list(detail["eventName"]), any(want)) {
			problems = append(problems, fmt.Sprintf("OwnerLeftFunction: rule's eventName got %s, want %s among them", names, want))
		}
	}
	if fmt.Sprint(pattern["source"]) != "[aws.cognito-idp]" || fmt.Sprint(pattern["detail-type"]) != "[AWS API Call via CloudTrail]" ||
		fmt.Sprint(detail["eventSource"]) != "[cognito-idp.amazonaws.com]" {
		problems = append(problems, fmt.Sprintf("OwnerLeftFunction: rule's pattern %v is not CloudTrail's record of a Cognito call", pattern))
	}
	pools := list(obj(detail["requestParameters"])["userPoolId"])
	if len(pools) != 1 || obj(pools[0])["Ref"] != "UserPool" {
		problems = append(problems, fmt.Sprintf("OwnerLeftFunction: rule's userPoolId got %v, want [!Ref UserPool]", pools))
	}
	if fn["Condition"] != "CreateIdentityProvider" {
		problems = append(problems, fmt.Sprintf("OwnerLeftFunction: condition got %v, want CreateIdentityProvider (there is a pool to watch)", fn["Condition"]))
	}
	return problems
}
