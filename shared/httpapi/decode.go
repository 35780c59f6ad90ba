package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
)

// MaxBody is the largest request body the management routes accept.
const MaxBody = 16 << 10

// DecodeJSON reads the request's JSON body into dst strictly: the body must be application/json,
// at most limit bytes, one JSON object, with no field dst does not have and no value of the wrong
// type. Every refusal is an *Error with its code.
func DecodeJSON(req Request, limit int, dst any) error {
	body, err := Body(req, limit)
	if err != nil {
		return err
	}
	if ct := header(req, "content-type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
		}
	}
	trimmed := TrimJSONSpace(body)
	if len(trimmed) == 0 {
		return Errorf(http.StatusBadRequest, "invalid_json", "A JSON object body is required.")
	}
	if trimmed[0] != '{' {
		return Errorf(http.StatusBadRequest, "invalid_json", "The body must be a JSON object.")
	}
	// encoding/json matches field names regardless of case and keeps the last of a repeated
	// field; the API takes each field once, spelled as documented.
	if err := exactFields(trimmed, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(http.StatusBadRequest, "invalid_json", "The body must hold exactly one JSON object.")
	}
	return nil
}

// TrimJSONSpace trims the whitespace JSON allows around a value (RFC 8259: space, tab, line feed
// and carriage return), and no other: a form feed or a no-break space is not JSON's, and a body
// holding one is not JSON.
func TrimJSONSpace(b []byte) []byte { return bytes.Trim(b, " \t\n\r") }

// Body returns the request body, decoded from base64 when API Gateway encoded it, refusing one
// over limit bytes with 413.
func Body(req Request, limit int) ([]byte, error) {
	tooLarge := Errorf(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("The body is larger than %d bytes.", limit))
	if !req.IsBase64Encoded {
		if len(req.Body) > limit {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	// No longer than the encoding of limit bytes; line breaks, which the decoder skips, count.
	if len(req.Body) > base64.StdEncoding.EncodedLen(limit) {
		return nil, tooLarge
	}
	body, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "invalid_body", "The body could not be read.")
	}
	if len(body) > limit {
		return nil, tooLarge
	}
	return body, nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return Errorf(http.StatusBadRequest, "invalid_json", "The body must be a JSON object.")
		}
		return Errorf(http.StatusBadRequest, "invalid_field_type", fmt.Sprintf("Field %q must be a %s.", field, jsonKind(typeErr.Type.Kind().String())))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "invalid_json", "The body is not valid JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return Errorf(http.StatusBadRequest, "unknown_field", fmt.Sprintf("Field %s is not known.", truncate(name, 64)))
	}
	return Errorf(http.StatusBadRequest, "invalid_json", "The body is not valid JSON.")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string", "ptr":
		return "string"
	case "int", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return "value of another type"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// header returns a request header, whatever case the caller or the gateway gave its name.
func header(req Request, name string) string {
	v, _ := lookupHeader(req, name)
	return v
}

// lookupHeader is header, also saying whether the request has the header at all.
func lookupHeader(req Request, name string) (string, bool) {
	if v, ok := req.Headers[name]; ok {
		return v, true
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// Header returns a request header by case-insensitive name.
func Header(req Request, name string) string { return header(req, name) }

// exactFields refuses a top-level field that appears twice, or whose name is not spelled
// exactly as one of dst's JSON field names (dst a pointer to a struct). Malformed JSON is left
// to the decoder to describe.
func exactFields(body []byte, dst any) error {
	known := fieldNames(reflect.TypeOf(dst))
	if known == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		name, ok := tok.(string)
		if !ok {
			return nil
		}
		if !known[name] {
			return Errorf(http.StatusBadRequest, "unknown_field", fmt.Sprintf("Field %q is not known.", truncate(name, 64)))
		}
		if seen[name] {
			return Errorf(http.StatusBadRequest, "invalid_json", fmt.Sprintf("Field %q appears more than once.", name))
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

var fieldNameCache sync.Map // reflect.Type → map[string]bool

// fieldNames returns the JSON names of the fields of the struct t points to, or nil.
func fieldNames(t reflect.Type) map[string]bool {
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	if names, ok := fieldNameCache.Load(t); ok {
		return names.(map[string]bool)
	}
	names := map[string]bool{}
	st := t.Elem()
	for i := range st.NumField() {
		f := st.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names[name] = true
	}
	fieldNameCache.Store(t, names)
	return names
}
