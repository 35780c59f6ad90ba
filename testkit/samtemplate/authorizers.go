package samtemplate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

// JWTAuthorizer is an HttpApi JWT authorizer.
type JWTAuthorizer struct {
	Name           string
	IdentitySource string
	Issuer         string
	Audience       []string
}

// LambdaAuthorizer is an HttpApi Lambda (REQUEST) authorizer.
type LambdaAuthorizer struct {
	Name string
	// Function is the logical id of the authorizer's function.
	Function string
	// IdentityHeaders are the request headers that form the identity source.
	IdentityHeaders []string
	// IdentityContext are the context variables that form the rest of it, as SAM's Identity
	// Context names them ("routeKey" for $context.routeKey).
	IdentityContext       []string
	ResultTTL             time.Duration
	PayloadFormatVersion  string
	EnableSimpleResponses bool
}

// checkAuthorizers makes sure every Lambda authorizer's function is in the template.
func (app *App) checkAuthorizers() error {
	for _, a := range app.LambdaAuthorizers {
		if _, ok := app.Functions[a.Function]; !ok {
			return fmt.Errorf("authorizer %s: no function %q in the template", a.Name, a.Function)
		}
	}
	return nil
}

// authorizerDoc is one entry of an HttpApi's Auth.Authorizers, which goformation leaves untyped.
type authorizerDoc struct {
	IdentitySource   string `json:"IdentitySource"`
	JwtConfiguration *struct {
		Issuer   string `json:"issuer"`
		Audience any    `json:"audience"`
	} `json:"JwtConfiguration"`
	FunctionArn                    string `json:"FunctionArn"`
	AuthorizerPayloadFormatVersion any    `json:"AuthorizerPayloadFormatVersion"`
	EnableSimpleResponses          bool   `json:"EnableSimpleResponses"`
	Identity                       *struct {
		Headers          []string `json:"Headers"`
		Context          []string `json:"Context"`
		ReauthorizeEvery any      `json:"ReauthorizeEvery"`
	} `json:"Identity"`
}

func (app *App) addAuthorizers(api *serverless.HttpApi) error {
	if api.Auth == nil || api.Auth.Authorizers == nil {
		return nil
	}
	raw, err := json.Marshal(api.Auth.Authorizers)
	if err != nil {
		return fmt.Errorf("authorizers: %w", err)
	}
	var docs map[string]authorizerDoc
	if err := json.Unmarshal(raw, &docs); err != nil {
		return fmt.Errorf("authorizers: %w", err)
	}
	for name, d := range docs {
		switch {
		case d.JwtConfiguration != nil:
			a := &JWTAuthorizer{Name: name, IdentitySource: d.IdentitySource, Issuer: d.JwtConfiguration.Issuer}
			if a.IdentitySource == "" {
				a.IdentitySource = "$request.header.Authorization"
			}
			a.Audience = stringList(d.JwtConfiguration.Audience)
			app.JWTAuthorizers[name] = a
		case d.FunctionArn != "":
			fn, ok := functionOfARN(d.FunctionArn)
			if !ok {
				return fmt.Errorf("authorizer %s: FunctionArn %q does not name a function of the template", name, d.FunctionArn)
			}
			a := &LambdaAuthorizer{
				Name: name, Function: fn,
				PayloadFormatVersion:  scalar(d.AuthorizerPayloadFormatVersion),
				EnableSimpleResponses: d.EnableSimpleResponses,
			}
			if a.PayloadFormatVersion != "2.0" || !a.EnableSimpleResponses {
				return fmt.Errorf("authorizer %s: the local run supports payload format 2.0 with simple responses only", name)
			}
			ttl := 300 // SAM's default ReauthorizeEvery
			if d.Identity != nil {
				a.IdentityHeaders, a.IdentityContext = d.Identity.Headers, d.Identity.Context
				if d.Identity.ReauthorizeEvery != nil {
					if ttl, err = strconv.Atoi(scalar(d.Identity.ReauthorizeEvery)); err != nil {
						return fmt.Errorf("authorizer %s: ReauthorizeEvery: %w", name, err)
					}
				}
			}
			if len(a.IdentityHeaders) == 0 {
				a.IdentityHeaders = []string{"Authorization"}
			}
			a.ResultTTL = time.Duration(ttl) * time.Second
			app.LambdaAuthorizers[name] = a
		default:
			return fmt.Errorf("authorizer %s: neither a JWT nor a Lambda authorizer", name)
		}
	}
	return nil
}
