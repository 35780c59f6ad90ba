package openapitest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/dlclark/regexp2"
	"github.com/pb33f/jsonschema/v6"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/apitokens/apitokens/testkit/samtemplate"
	"github.com/apitokens/apitokens/testkit/secretscan"
)

// Document is openapi.yaml, ready to check responses against. It is safe for concurrent use.
type Document struct {
	mu         sync.Mutex
	v          validator.Validator
	operations []string        // "METHOD /path" of every operation the document describes
	seen       map[string]bool // "METHOD /path" of every operation a checked response answered
}

var load = sync.OnceValues(func() (*Document, error) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		return nil, err
	}
	return Open(filepath.Join(root, "openapi.yaml"))
})

// Load returns the repository's openapi.yaml, read once per test binary.
func Load() (*Document, error) { return load() }

// Open reads an OpenAPI 3.1 document and refuses one the validator cannot use.
func Open(path string) (*Document, error) {
	spec, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("openapitest: %s: %w", path, err)
	}
	v, errs := validator.NewValidator(doc, config.WithRegexEngine(ecmaRegexp), config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapitest: %s: %w", path, errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("openapitest: %s is not valid OpenAPI: %w", path, joinValidation(verrs))
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("openapitest: %s: %w", path, err)
	}
	d := &Document{v: v, seen: map[string]bool{}}
	for p, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			d.operations = append(d.operations, strings.ToUpper(method)+" "+p)
		}
	}
	sort.Strings(d.operations)
	return d, nil
}

// Check returns an error naming every way resp, the answer to req, breaks the document: a path
// or method it does not describe, a status it does not list, a missing required header, a
// content type or body off the schema. Both bodies are left readable.
func (d *Document) Check(req *http.Request, resp *http.Response) error {
	body, err := rewind(&resp.Body)
	if err != nil {
		return err
	}
	if _, err := rewind(&req.Body); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ok, verrs := d.v.ValidateHttpResponse(req, resp)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if !ok {
		return fmt.Errorf("%s %s → %d is not what openapi.yaml describes: %w", req.Method, req.URL.Path, resp.StatusCode, joinValidation(verrs))
	}
	return nil
}

// Unchecked lists the operations ("METHOD /path", sorted) that no checked handler response
// answered, so a suite can show it held every operation to the document.
func (d *Document) Unchecked() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, op := range d.operations {
		if !d.seen[op] {
			out = append(out, op)
		}
	}
	return out
}

// rewind reads a body to the end and puts an unread copy back, so the validator and the test
// can both read it.
func rewind(rc *io.ReadCloser) ([]byte, error) {
	if *rc == nil || *rc == http.NoBody {
		*rc = http.NoBody
		return nil, nil
	}
	b, err := io.ReadAll(*rc)
	(*rc).Close()
	*rc = io.NopCloser(bytes.NewReader(b))
	return b, err
}

func joinValidation(verrs []*verrors.ValidationError) error {
	msgs := make([]string, 0, len(verrs))
	for _, e := range verrs {
		m := e.Message
		if e.Reason != "" {
			m += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			m += "; " + f.Error()
		}
		msgs = append(msgs, m)
	}
	// The validator quotes values that break a pattern: never a key, a session or key material.
	return errors.New(secretscan.Shared().Redact(strings.Join(msgs, "\n\t")))
}

// CheckEvent is Check for a handler called directly: the HTTP API payload 2.0 request it was
// given and the response it returned, turned back into what the client sent and received.
func (d *Document) CheckEvent(req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) error {
	target := "https://" + req.RequestContext.DomainName + req.RawPath
	if req.RawQueryString != "" {
		target += "?" + req.RawQueryString
	}
	body := req.Body
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return fmt.Errorf("openapitest: request body: %w", err)
		}
		body = string(b)
	}
	hreq, err := http.NewRequest(req.RequestContext.HTTP.Method, target, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("openapitest: %w", err)
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	hresp := &http.Response{StatusCode: resp.StatusCode, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(resp.Body)), Request: hreq}
	for k, v := range resp.Headers {
		hresp.Header.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			hresp.Header.Add(k, v)
		}
	}
	if err := d.Check(hreq, hresp); err != nil {
		return err
	}
	d.mu.Lock()
	d.seen[req.RouteKey] = true
	d.mu.Unlock()
	return nil
}

// ecmaRegexp compiles a schema's pattern as JSON Schema asks, in the ECMA-262 dialect (the
// document's patterns use \uXXXX escapes, which Go's RE2 syntax lacks).
func ecmaRegexp(pattern string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(pattern, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecma{re}, nil
}

type ecma struct{ re *regexp2.Regexp }

func (e ecma) MatchString(s string) bool {
	ok, err := e.re.MatchString(s)
	return ok && err == nil
}

func (e ecma) String() string { return e.re.String() }
