package docexamples

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Example is one shell example of a document and its marker.
type Example struct {
	// File is the document's path from the repository root; Line is the line of the opening
	// fence, from 1.
	File string
	Line int
	// Script is the block's text, its fence's indentation removed.
	Script string
	// AWS is set for an example marked <!-- aws -->; Expect holds the answer otherwise.
	AWS    bool
	Expect Expect
}

// Where is the example's file and line, as an error names them.
func (e Example) Where() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// Expect is the answer an example's last curl must get.
type Expect struct {
	Status int
	// Code is the problem document's code; "" asks nothing of it.
	Code string
	// Fields are top-level JSON fields the body holds.
	Fields []string
	// Header is a response header present; "" asks nothing of it.
	Header string
}

// Documents returns the paths, from root, of the documents whose examples are run: README.md,
// then docs/*.md in name order.
func Documents(root string) ([]string, error) {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	slices.Sort(docs)
	out := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, nil
}

// Load parses every document of root; the error joins every problem, each naming its file and
// line.
func Load(root string) ([]Example, error) {
	docs, err := Documents(root)
	if err != nil {
		return nil, err
	}
	var all []Example
	var problems []string
	for _, d := range docs {
		src, err := os.ReadFile(filepath.Join(root, d))
		if err != nil {
			return nil, err
		}
		ex, errs := Parse(d, string(src))
		all = append(all, ex...)
		problems = append(problems, errs...)
	}
	if len(problems) > 0 {
		return all, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return all, nil
}

var (
	fenceOpen = regexp.MustCompile("^( *)(```+|~~~+)\\s*([^`\\s]*)")
	// markerLike is any HTML comment that means to be a marker, well formed or not.
	markerLike = regexp.MustCompile(`^\s*<!--\s*(expect|aws)\b`)
	marker     = regexp.MustCompile(`^\s*<!--\s*(?:(aws)|expect:((?:\s+[a-z]+=\S+)+))\s*-->\s*$`)
	shellLangs = []string{"sh", "bash", "shell", "console", "zsh"}
	// commandStart is the first word of an unlabelled block that is a shell example.
	commandStart = regexp.MustCompile(`^\s*(\$ |curl\b|make\b|aws\b|sam\b|go\b|jq\b|export\b|\.venv)`)
)

// Parse returns the shell examples of one document and a problem, naming file and line, for
// every example without a marker, every malformed marker and every marker with no example
// after it.
func Parse(file, src string) ([]Example, []string) {
	lines := strings.Split(src, "\n")
	var out []Example
	var problems []string
	bad := func(line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: ", file, line)+fmt.Sprintf(format, args...))
	}
	pending := -1 // the line index of a marker not yet followed by its example
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if markerLike.MatchString(l) {
			if pending >= 0 {
				bad(pending+1, "marker with no shell example after it (the next marker is on line %d)", i+1)
			}
			pending = i
			continue
		}
		m := fenceOpen.FindStringSubmatch(l)
		if m == nil {
			if strings.TrimSpace(l) != "" && pending >= 0 {
				bad(pending+1, "marker with no shell example after it: put it on the line just before the opening fence")
				pending = -1
			}
			continue
		}
		indent, fence, lang := m[1], m[2], strings.ToLower(m[3])
		body, end := fencedBody(lines, i, indent, fence)
		if end < 0 {
			bad(i+1, "fence %s is never closed", fence)
			end = len(lines) - 1
		}
		shell := slices.Contains(shellLangs, lang) || (lang == "" && startsWithCommand(body))
		switch {
		case shell && pending < 0:
			bad(i+1, "shell example without a marker: put <!-- expect: status=NNN … --> (run against the local API) or <!-- aws --> (needs AWS) on the line before its fence")
		case shell:
			ex, err := parseMarker(lines[pending])
			if err != "" {
				bad(pending+1, "%s", err)
			} else {
				ex.File, ex.Line, ex.Script = file, i+1, body
				out = append(out, ex)
			}
		case pending >= 0:
			bad(pending+1, "marker before a %q block, which is not a shell example (sh, bash, shell, console, zsh)", lang)
		}
		pending = -1
		i = end
	}
	if pending >= 0 {
		bad(pending+1, "marker with no shell example after it")
	}
	return out, problems
}

// fencedBody returns the text of the block that opens at lines[open] and the index of its
// closing fence (-1 when there is none), each line with the fence's indentation removed.
func fencedBody(lines []string, open int, indent, fence string) (string, int) {
	var body []string
	for j := open + 1; j < len(lines); j++ {
		t := strings.TrimLeft(lines[j], " ")
		if strings.HasPrefix(t, fence[:3]) && strings.Trim(t, fence[:1]+" \t") == "" && len(strings.TrimSpace(t)) >= len(fence) {
			return strings.Join(body, "\n") + "\n", j
		}
		body = append(body, strings.TrimPrefix(lines[j], indent))
	}
	return strings.Join(body, "\n"), -1
}

func startsWithCommand(body string) bool {
	for _, l := range strings.Split(body, "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		return commandStart.MatchString(l)
	}
	return false
}

var (
	codeShape   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	fieldShape  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	headerShape = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`)
)

// parseMarker reads one marker line; the problem is "" when it is well formed.
func parseMarker(line string) (Example, string) {
	m := marker.FindStringSubmatch(line)
	if m == nil {
		return Example{}, fmt.Sprintf("malformed marker %q: want <!-- expect: status=NNN[ code=<problem code>][ fields=a,b,c][ header=Name] --> or <!-- aws -->", strings.TrimSpace(line))
	}
	if m[1] == "aws" {
		return Example{AWS: true}, ""
	}
	var e Expect
	seen := map[string]bool{}
	for _, pair := range strings.Fields(m[2]) {
		k, v, _ := strings.Cut(pair, "=")
		if seen[k] {
			return Example{}, fmt.Sprintf("marker names %s twice", k)
		}
		seen[k] = true
		switch k {
		case "status":
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 599 {
				return Example{}, fmt.Sprintf("status=%s: want an HTTP status, 100 to 599", v)
			}
			e.Status = n
		case "code":
			if !codeShape.MatchString(v) {
				return Example{}, fmt.Sprintf("code=%s: want a problem code such as token_not_found", v)
			}
			e.Code = v
		case "fields":
			for _, f := range strings.Split(v, ",") {
				if !fieldShape.MatchString(f) {
					return Example{}, fmt.Sprintf("fields=%s: want JSON field names separated by commas, no spaces", v)
				}
				e.Fields = append(e.Fields, f)
			}
		case "header":
			if !headerShape.MatchString(v) {
				return Example{}, fmt.Sprintf("header=%s: want one header name", v)
			}
			e.Header = v
		default:
			return Example{}, fmt.Sprintf("unknown key %q in marker: want status, code, fields or header", k)
		}
	}
	if e.Status == 0 {
		return Example{}, "marker without status=NNN"
	}
	return Example{Expect: e}, ""
}
