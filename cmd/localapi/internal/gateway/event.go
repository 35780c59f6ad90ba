package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Identity of the emulated API, as it appears in events and ARNs.
const (
	AccountID = "123456789012"
	Region    = "us-east-1"
	Stage     = "$default"
)

// buildEvent returns the payload format 2.0 event API Gateway sends a route's integration for
// r, without the authorizer's part.
func buildEvent(r *http.Request, body []byte, rt route, params map[string]string, apiID, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       rt.Key(),
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.Key(),
			AccountID:    AccountID,
			Stage:        Stage,
			RequestID:    requestID,
			APIID:        apiID,
			DomainName:   r.Host,
			DomainPrefix: strings.SplitN(r.Host, ".", 2)[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	ev.Headers, ev.Cookies = headers(r, sourceIP, now)
	ev.QueryStringParameters = queryParameters(r.URL.RawQuery)
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// headers returns the request's headers as payload format 2.0 has them, lower-cased with
// repeated values joined by commas and the ones API Gateway adds, and its cookies apart.
func headers(r *http.Request, sourceIP string, now time.Time) (map[string]string, []string) {
	h := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		h[name] = strings.Join(values, ",")
	}
	h["host"] = r.Host
	h["x-forwarded-for"] = sourceIP
	h["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		h["x-forwarded-port"] = port
	}
	h["x-amzn-trace-id"] = traceID(now)
	return h, cookies
}

// authorizerEvent returns the REQUEST event a Lambda authorizer with payload format 2.0 gets.
func authorizerEvent(ev events.APIGatewayV2HTTPRequest, identity []string) events.APIGatewayV2CustomAuthorizerV2Request {
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              routeARN(ev.RequestContext.APIID, ev.RequestContext.HTTP.Method, ev.RawPath),
		IdentitySource:        identity,
		RouteKey:              ev.RouteKey,
		RawPath:               ev.RawPath,
		RawQueryString:        ev.RawQueryString,
		Cookies:               ev.Cookies,
		Headers:               ev.Headers,
		QueryStringParameters: ev.QueryStringParameters,
		RequestContext:        ev.RequestContext,
		PathParameters:        ev.PathParameters,
		StageVariables:        ev.StageVariables,
	}
}

func routeARN(apiID, method, rawPath string) string {
	return fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s%s", Region, AccountID, apiID, Stage, method, rawPath)
}

// queryParameters returns the query's parameters as payload format 2.0 has them: repeated names
// joined by commas. API Gateway documents that a ";" in a query string splits the data, so a
// ";" separates pairs as "&" does; Go's url.ParseQuery would drop such a pair instead. A value
// whose escapes are malformed is kept as sent rather than dropped.
func queryParameters(raw string) map[string]string {
	if raw == "" {
		return nil
	}
	params := map[string]string{}
	for pair := range strings.FieldsFuncSeq(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		name, value, _ := strings.Cut(pair, "=")
		name, value = unescapeQuery(name), unescapeQuery(value)
		if old, ok := params[name]; ok {
			value = old + "," + value
		}
		params[name] = value
	}
	if len(params) == 0 {
		return nil
	}
	return params
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// isText reports whether a body reaches the integration as text rather than base64: text,
// JSON, XML and JavaScript bodies that are valid UTF-8. As on API Gateway, a form body
// (application/x-www-form-urlencoded) and a body without a content type arrive base64-encoded.
func isText(contentType string, body []byte) bool {
	if !utf8.Valid(body) || contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/graphql":
		return true
	}
	return false
}

// newRequestID returns an id shaped like API Gateway's (apigw-requestid).
func newRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func traceID(now time.Time) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "Root=1-" + strconv.FormatInt(now.Unix(), 16) + "-" + hex.EncodeToString(b)
}
