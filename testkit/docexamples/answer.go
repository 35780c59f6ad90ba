package docexamples

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Answer is what an example's last curl got: its status, headers and body.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// ParseHeaders reads the headers curl's --dump-header wrote: the last response's status line
// and headers (after any interim 1xx response).
func ParseHeaders(dump string) (int, http.Header, error) {
	blocks := strings.Split(strings.ReplaceAll(strings.TrimSpace(dump), "\r\n", "\n"), "\n\n")
	last := blocks[len(blocks)-1]
	status, rest, _ := strings.Cut(last, "\n")
	fields := strings.Fields(status)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return 0, nil, fmt.Errorf("no status line in the headers curl dumped: %q", status)
	}
	code, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0, nil, fmt.Errorf("status line %q: %w", status, err)
	}
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(rest + "\n\n"))).ReadMIMEHeader()
	if err != nil {
		return 0, nil, fmt.Errorf("headers curl dumped: %w", err)
	}
	return code, http.Header(h), nil
}

// Check returns what in the answer differs from what the marker says, one problem each.
func (e Expect) Check(a Answer) []string {
	var problems []string
	if a.Status != e.Status {
		problems = append(problems, fmt.Sprintf("status %d, the document says %d", a.Status, e.Status))
	}
	if e.Header != "" && a.Header.Get(e.Header) == "" {
		problems = append(problems, fmt.Sprintf("no %s header, the document says there is one", e.Header))
	}
	if e.Code == "" && len(e.Fields) == 0 {
		return problems
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(a.Body, &obj); err != nil {
		return append(problems, fmt.Sprintf("the body is not a JSON object (%v), the document names its code or fields", err))
	}
	if e.Code != "" {
		var code string
		if err := json.Unmarshal(obj["code"], &code); err != nil || code != e.Code {
			got := string(obj["code"])
			if got == "" {
				got = "none"
			}
			problems = append(problems, fmt.Sprintf("code %s, the document says %s", got, e.Code))
		}
	}
	for _, f := range e.Fields {
		if _, ok := obj[f]; !ok {
			problems = append(problems, fmt.Sprintf("no field %q in the body, the document says there is one", f))
		}
	}
	return problems
}
