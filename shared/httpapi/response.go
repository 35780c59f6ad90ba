package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// Response is what a handler answers.
type Response = events.APIGatewayV2HTTPResponse

// Request is what a handler is given.
type Request = events.APIGatewayV2HTTPRequest

// JSON answers status with v as the body. Extra headers come in name, value pairs.
func JSON(status int, v any, headers ...string) Response {
	body, err := json.Marshal(v)
	if err != nil {
		return ProblemResponse(err)
	}
	h := map[string]string{"content-type": "application/json"}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return Response{StatusCode: status, Headers: h, Body: string(body)}
}

// NoContent answers 204.
func NoContent() Response {
	return Response{StatusCode: http.StatusNoContent}
}

// ProblemResponse answers an error as problem+json.
func ProblemResponse(err error) Response {
	p := ProblemFor(err)
	body, _ := json.Marshal(p)
	return Response{
		StatusCode: p.Status,
		Headers:    map[string]string{"content-type": "application/problem+json"},
		Body:       string(body),
	}
}
