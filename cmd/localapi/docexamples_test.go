package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apitokens/apitokens/testkit/docexamples"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// curlRecorder is put before each example: every curl it runs also dumps its headers and copies
// its body into the example's folder, where the test reads the last one's answer. What curl
// prints is unchanged.
const curlRecorder = `curl() { command curl -sS -D "$EXAMPLE_DIR/headers" "$@" | tee "$EXAMPLE_DIR/body"; }
`

// exampleTimeout bounds one example; `make session` and `make report-leak` compile their command
// on a first run.
const exampleTimeout = 4 * time.Minute

// TestDocumentExamples runs every shell example of README.md and docs/*.md marked
// <!-- expect: … --> against a local API, in document order, with the variables `make run`
// prints ($API, $ADMIN, $AGENT, $KEY) and `make session` and `make report-leak` pointed at that
// API's state folder; the last curl of each must get the answer its marker names. The examples
// marked <!-- aws --> are held to the template by testkit/docexamples.
func TestDocumentExamples(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	examples, err := docexamples.Load(root)
	if err != nil {
		t.Fatalf("the documents' examples:\n%v", err)
	}
	srv, _ := startServer(t, "")
	ctx := context.Background()
	if err := srv.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	key, err := srv.ExampleKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err1 := srv.Mint(bannerAdmin, bannerEnvironment, true)
	agent, err2 := srv.Mint(bannerAgent, bannerEnvironment, false)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	env := exampleEnv(map[string]string{
		"API": srv.URL, "ADMIN": admin, "AGENT": agent, "KEY": key, "STATE_DIR": srv.stateDir,
	})
	ran := 0
	for _, ex := range examples {
		if ex.AWS {
			continue
		}
		ran++
		t.Run(ex.Where(), func(t *testing.T) {
			answer, output, err := runExample(t, root, ex, env)
			if err != nil {
				t.Fatalf("%s: %v\n%s", ex.Where(), err, hidden(output))
			}
			for _, p := range ex.Expect.Check(answer) {
				t.Errorf("%s: the last curl: %s\nbody: %s", ex.Where(), p, hidden(string(answer.Body)))
			}
		})
	}
	if ran == 0 {
		t.Error("no example ran")
	}
}

// exampleEnv is this process's environment without make's own variables (the example's make
// is a make of its own), plus vars.
func exampleEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, set := vars[name]; set || name == "MAKEFLAGS" || name == "MFLAGS" || name == "MAKELEVEL" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// runExample runs one example with bash (-eu, pipefail) in the repository root and returns its
// last curl's answer and everything it printed.
func runExample(t *testing.T, root string, ex docexamples.Example, env []string) (docexamples.Answer, string, error) {
	dir := t.TempDir()
	script := filepath.Join(dir, "example.sh")
	if err := os.WriteFile(script, []byte(curlRecorder+ex.Script), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), exampleTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", script)
	cmd.Dir, cmd.Env = root, append(env, "EXAMPLE_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return docexamples.Answer{}, out.String(), err
	}
	dump, err := os.ReadFile(filepath.Join(dir, "headers"))
	if err != nil {
		return docexamples.Answer{}, out.String(), errNoCurl
	}
	status, header, err := docexamples.ParseHeaders(string(dump))
	if err != nil {
		return docexamples.Answer{}, out.String(), err
	}
	body, err := os.ReadFile(filepath.Join(dir, "body"))
	return docexamples.Answer{Status: status, Header: header, Body: body}, out.String(), err
}

type exampleError string

func (e exampleError) Error() string { return string(e) }

const errNoCurl = exampleError("the example ran no curl, and its marker is about the last one")

// sessionShaped finds anything shaped like a session token (a JWT).
var sessionShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// hidden is an example's output for a failure message: keys by their hint, sessions elided.
func hidden(s string) string {
	return sessionShaped.ReplaceAllString(keyShaped.ReplaceAllString(s, "${1}…${2}"), "eyJ…")
}
