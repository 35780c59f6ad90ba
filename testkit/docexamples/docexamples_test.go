package docexamples

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

func TestParseMarkedExamples(t *testing.T) {
	src := strings.Join([]string{
		"# Doc", // 1
		"",      // 2
		"<!-- expect: status=201 fields=id,key header=Location -->", // 3
		"```sh",                                 // 4
		`curl -s "$API/v1/tokens"`,              // 5
		"```",                                   // 6
		"1. A step:",                            // 7
		"   <!-- aws -->",                       // 8
		"",                                      // 9
		"   ```bash",                            // 10
		"   aws cloudformation describe-stacks", // 11
		"   ```",                                // 12
		"<!--expect: status=404 code=token_not_found-->", // 13
		"````console",           // 14
		"curl -s \"$API/x\"",    // 15
		"```",                   // 16
		"````",                  // 17
		"```json",               // 18
		`{"not":"shell"}`,       // 19
		"```",                   // 20
		"```",                   // 21
		"a tree, not a command", // 22
		"```",                   // 23
	}, "\n")
	got, problems := Parse("docs/x.md", src)
	if len(problems) > 0 {
		t.Fatalf("problems: %q", problems)
	}
	want := []Example{
		{File: "docs/x.md", Line: 4, Script: "curl -s \"$API/v1/tokens\"\n", Expect: Expect{Status: 201, Fields: []string{"id", "key"}, Header: "Location"}},
		{File: "docs/x.md", Line: 10, Script: "aws cloudformation describe-stacks\n", AWS: true},
		{File: "docs/x.md", Line: 14, Script: "curl -s \"$API/x\"\n```\n", Expect: Expect{Status: 404, Code: "token_not_found"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d examples %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.File != w.File || g.Line != w.Line || g.Script != w.Script || g.AWS != w.AWS ||
			g.Expect.Status != w.Expect.Status || g.Expect.Code != w.Expect.Code || g.Expect.Header != w.Expect.Header ||
			!slices.Equal(g.Expect.Fields, w.Expect.Fields) {
			t.Errorf("example %d: got %+v, want %+v", i, g, w)
		}
	}
}

// Each problem names the file and the line to fix, and says what is wrong.
func TestParseProblemsNameFileAndLine(t *testing.T) {
	for _, c := range []struct {
		name, src, want string
	}{
		{"unmarked sh", "text\n```sh\ncurl x\n```\n", "d.md:2: shell example without a marker"},
		{"unmarked unlabelled command", "```\nmake run\n```\n", "d.md:1: shell example without a marker"},
		{"unmarked indented", "1. step\n\n   ```shell\n   curl x\n   ```\n", "d.md:3: shell example without a marker"},
		{"no status", "<!-- expect: code=x -->\n```sh\ncurl\n```\n", "d.md:1: marker without status"},
		{"bad status", "<!-- expect: status=2000 -->\n```sh\ncurl\n```\n", "d.md:1: status=2000"},
		{"unknown key", "<!-- expect: status=200 body=x -->\n```sh\ncurl\n```\n", `d.md:1: unknown key "body"`},
		{"key twice", "<!-- expect: status=200 status=201 -->\n```sh\ncurl\n```\n", "d.md:1: marker names status twice"},
		{"fields with a space", "<!-- expect: status=200 fields=a, b -->\n```sh\ncurl\n```\n", "d.md:1: malformed marker"},
		{"bad code", "<!-- expect: status=409 code=Token-Expired -->\n```sh\ncurl\n```\n", "d.md:1: code=Token-Expired"},
		{"no colon", "<!-- expect status=200 -->\n```sh\ncurl\n```\n", "d.md:1: malformed marker"},
		{"unclosed comment", "<!-- expect: status=200\n```sh\ncurl\n```\n", "d.md:1: malformed marker"},
		{"aws with keys", "<!-- aws status=200 -->\n```sh\naws s3 ls\n```\n", "d.md:1: malformed marker"},
		{"text between", "<!-- aws -->\nSome words.\n```sh\naws s3 ls\n```\n", "d.md:1: marker with no shell example after it"},
		{"before json", "<!-- expect: status=200 -->\n```json\n{}\n```\n", `d.md:1: marker before a "json" block`},
		{"at the end", "text\n<!-- aws -->\n", "d.md:2: marker with no shell example after it"},
		{"two markers", "<!-- aws -->\n<!-- expect: status=200 -->\n```sh\ncurl\n```\n", "d.md:1: marker with no shell example after it"},
		{"unclosed fence", "<!-- aws -->\n```sh\naws s3 ls\n", "d.md:2: fence ``` is never closed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, problems := Parse("d.md", c.src)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, c.want) }) {
				t.Errorf("problems %q, want one starting %q", problems, c.want)
			}
		})
	}
}

func TestCheckAWS(t *testing.T) {
	n := Names{
		Parameters: map[string]bool{"TokenLimit": true},
		Outputs:    map[string]bool{"ApiUrl": true},
		Targets:    map[string]bool{"deploy": true, "admin": true},
	}
	for _, c := range []struct {
		name, script string
		want         []string
	}{
		{"fine", "make deploy\naws cloudformation describe-stacks --query \"Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue\"\n", nil},
		{"a variable from AWS", "curl -s \"$API/v1/me\" -H \"Authorization: Bearer $SESSION\"\n", nil},
		{"no such target", "make -s deploi STACK=x\n", []string{"d.md:3: make deploi: no such target"}},
		{"no such output", "aws cloudformation describe-stacks --query \"Outputs[?OutputKey=='ApiURL']\"\n", []string{"d.md:3: output ApiURL"}},
		{"no such parameter", "sam deploy --parameter-overrides TokenLimit=5 TokenLimits=6\n", []string{"d.md:3: parameter TokenLimits"}},
		{"no such parameter key", "aws cloudformation update-stack --parameters ParameterKey=KeyPrefx,ParameterValue=x\n", []string{"d.md:3: parameter KeyPrefx"}},
		{"runs locally", "KEY2=$(curl -s \"$API/v1/tokens\" -H \"Authorization: Bearer $AGENT\")\necho $KEY2\n", []string{"d.md:3: marked <!-- aws --> but runs no aws"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := CheckAWS(Example{File: "d.md", Line: 3, Script: c.script, AWS: true}, n)
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %d problems like %q", got, len(c.want), c.want)
			}
			for i := range c.want {
				if !strings.HasPrefix(got[i], c.want[i]) {
					t.Errorf("got %q, want it to start %q", got[i], c.want[i])
				}
			}
		})
	}
}

func TestExpectCheck(t *testing.T) {
	problem := []byte(`{"type":"about:blank","title":"Conflict","status":409,"code":"token_expired","detail":"x"}`)
	created := Answer{Status: 201, Header: http.Header{"Location": {"/v1/tokens/tok_1"}}, Body: []byte(`{"id":"tok_1","key":"k","nextCursor":null}`)}
	for _, c := range []struct {
		name   string
		expect Expect
		answer Answer
		want   []string
	}{
		{"all hold", Expect{Status: 201, Fields: []string{"id", "key", "nextCursor"}, Header: "location"}, created, nil},
		{"status", Expect{Status: 200}, created, []string{"status 201, the document says 200"}},
		{"field", Expect{Status: 201, Fields: []string{"id", "hint"}}, created, []string{`no field "hint"`}},
		{"header", Expect{Status: 201, Header: "Idempotent-Replayed"}, created, []string{"no Idempotent-Replayed header"}},
		{"code", Expect{Status: 409, Code: "token_expired"}, Answer{Status: 409, Body: problem}, nil},
		{"other code", Expect{Status: 409, Code: "key_leaked"}, Answer{Status: 409, Body: problem}, []string{`code "token_expired", the document says key_leaked`}},
		{"no code", Expect{Status: 201, Code: "conflict"}, created, []string{"code none, the document says conflict"}},
		{"not an object", Expect{Status: 200, Fields: []string{"x"}}, Answer{Status: 200, Body: []byte(`[1]`)}, []string{"the body is not a JSON object"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.expect.Check(c.answer)
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			for i := range c.want {
				if !strings.HasPrefix(got[i], c.want[i]) {
					t.Errorf("got %q, want it to start %q", got[i], c.want[i])
				}
			}
		})
	}
}

func TestParseHeaders(t *testing.T) {
	dump := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\nApigw-Requestid: abc\r\n\r\n"
	status, h, err := ParseHeaders(dump)
	if err != nil || status != 413 || h.Get("apigw-requestid") != "abc" {
		t.Errorf("got %d %v %v, want 413 with apigw-requestid abc", status, h, err)
	}
	if _, _, err := ParseHeaders("garbage"); err == nil {
		t.Error("garbage parsed, want an error")
	}
}

// Every shell example of README.md and docs/*.md is marked, and every one that needs AWS names
// only parameters, outputs and targets that exist. (cmd/localapi's TestDocumentExamples runs
// the others.)
func TestDocumentsExamplesAreMarked(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	examples, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	names, err := ProjectNames(root)
	if err != nil {
		t.Fatal(err)
	}
	aws := 0
	for _, ex := range examples {
		if ex.AWS {
			aws++
			for _, p := range CheckAWS(ex, names) {
				t.Error(p)
			}
		}
	}
	if aws == 0 || aws == len(examples) {
		t.Errorf("%d examples, %d of them AWS-only: want both kinds", len(examples), aws)
	}
	if !names.Targets["run"] || !names.Targets["session"] || !names.Parameters["TokenLimit"] || !names.Outputs["ApiUrl"] {
		t.Errorf("names read from the project lack run, session, TokenLimit or ApiUrl: %v", names)
	}
}
