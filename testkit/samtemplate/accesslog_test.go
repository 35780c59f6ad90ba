package samtemplate_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// varKind says how an access log variable may be written into a JSON line.
type varKind int

const (
	// plain values hold no quote (ids, numbers, times, enumerations): written inside quotes.
	plain varKind = iota
	// quoted variables are written already quoted by API Gateway: written bare.
	quoted
	// hasQuoted variables hold text of API Gateway's with a quoted variant: use that one.
	hasQuoted
	// freeText variables hold text a caller or a function chooses, with no quoted variant: a
	// quote in it would end the JSON string, so they are not logged.
	freeText
)

// httpAPIVariables are the $context variables that API Gateway documents for HTTP API access logs,
// from "Customize HTTP API access logs" (Amazon API Gateway developer guide,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
// $context.authorizer.claims.<claim> and $context.authorizer.<key> are read by accessLogVariable.
// REST APIs have more (such as $context.authorizer.status and .latency); an HTTP API reads those
// as keys of its Lambda authorizer's context, which ours does not return, so they log "-".
var httpAPIVariables = map[string]varKind{
	"$context.accountId":                              plain,
	"$context.apiId":                                  plain,
	"$context.authorizer.error":                       freeText,
	"$context.authorizer.principalId":                 plain,
	"$context.awsEndpointRequestId":                   plain,
	"$context.awsEndpointRequestId2":                  plain,
	"$context.customDomain.basePathMatched":           plain,
	"$context.dataProcessed":                          plain,
	"$context.domainName":                             plain,
	"$context.domainPrefix":                           plain,
	"$context.error.message":                          hasQuoted,
	"$context.error.messageString":                    quoted,
	"$context.error.responseType":                     plain,
	"$context.extendedRequestId":                      plain,
	"$context.httpMethod":                             plain,
	"$context.identity.accountId":                     plain,
	"$context.identity.caller":                        plain,
	"$context.identity.cognitoAuthenticationProvider": plain,
	"$context.identity.cognitoAuthenticationType":     plain,
	"$context.identity.cognitoIdentityId":             plain,
	"$context.identity.cognitoIdentityPoolId":         plain,
	"$context.identity.principalOrgId":                plain,
	"$context.identity.clientCert.clientCertPem":      freeText,
	"$context.identity.clientCert.subjectDN":          freeText,
	"$context.identity.clientCert.issuerDN":           freeText,
	"$context.identity.clientCert.serialNumber":       plain,
	"$context.identity.clientCert.validity.notBefore": plain,
	"$context.identity.clientCert.validity.notAfter":  plain,
	"$context.identity.sourceIp":                      plain,
	"$context.identity.user":                          plain,
	"$context.identity.userAgent":                     freeText,
	"$context.identity.userArn":                       plain,
	"$context.integration.error":                      freeText,
	"$context.integration.integrationStatus":          plain,
	"$context.integration.latency":                    plain,
	"$context.integration.requestId":                  plain,
	"$context.integration.status":                     plain,
	"$context.integrationErrorMessage":                freeText,
	"$context.integrationLatency":                     plain,
	"$context.integrationStatus":                      plain,
	"$context.path":                                   plain,
	"$context.protocol":                               plain,
	"$context.requestId":                              plain,
	"$context.requestTime":                            plain,
	"$context.requestTimeEpoch":                       plain,
	"$context.responseLatency":                        plain,
	"$context.responseLength":                         plain,
	"$context.routeKey":                               plain,
	"$context.stage":                                  plain,
	"$context.status":                                 plain,
}

// authorizerContextKeys are the keys of the context the key authorizer returns
// (shared/authorizer, contextOf), readable as $context.authorizer.<key>.
var authorizerContextKeys = []string{"tokenId", "tokenName", "type", "userId", "environmentId", "scope"}

var contextVariable = regexp.MustCompile(`\$context(\.[A-Za-z0-9_]+)+`)

// accessLogVariable returns how v may be written, and whether the HTTP API documents it.
func accessLogVariable(v string) (varKind, bool) {
	if k, ok := httpAPIVariables[v]; ok {
		return k, true
	}
	if claim, ok := strings.CutPrefix(v, "$context.authorizer.claims."); ok && claim != "" {
		return plain, true
	}
	if key, ok := strings.CutPrefix(v, "$context.authorizer."); ok && slices.Contains(authorizerContextKeys, key) {
		return plain, true
	}
	return 0, false
}

// accessLogFormatProblems checks an access log format: every variable one the HTTP API documents,
// none that could hold a quote, the quoted ones bare; and the line, with each variable replaced by
// a value of its kind, a JSON object of strings. It returns that object.
func accessLogFormatProblems(id, format string) (map[string]string, []string) {
	var problems []string
	rendered := contextVariable.ReplaceAllStringFunc(format, func(v string) string {
		kind, ok := accessLogVariable(v)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: access log variable %s is not one the HTTP API documents (nor a key the key authorizer returns)", id, v))
			return "x"
		case kind == freeText:
			problems = append(problems, fmt.Sprintf("%s: access log variable %s may hold a quote, which breaks the JSON line, and has no quoted variant", id, v))
			return `say "hi"`
		case kind == hasQuoted:
			problems = append(problems, fmt.Sprintf("%s: access log variable %s: use %sString, which API Gateway quotes itself", id, v, v))
			return "x"
		case kind == quoted:
			return `"x"`
		}
		return "x"
	})
	var fields map[string]string
	if err := json.Unmarshal([]byte(rendered), &fields); err != nil {
		problems = append(problems, fmt.Sprintf("%s: access log Format, its variables filled in, is not a JSON object of strings: %v", id, err))
	}
	return fields, problems
}
