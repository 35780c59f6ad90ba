package lambdas

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitokens/apitokens/cmd/internal/proctree"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startEcho builds the echo test function and runs it under the emulator.
func startEcho(t *testing.T, timeout time.Duration) (*Function, *lines) {
	t.Helper()
	return startEchoWith(t, timeout, Options{})
}

// startEchoWith is startEcho with options.
func startEchoWith(t *testing.T, timeout time.Duration, opts Options) (*Function, *lines) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a function")
	}
	ctx := context.Background()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	f := &samtemplate.Function{
		LogicalID: "EchoFunction", CodeDir: filepath.Join(root, "cmd/localapi/testdata/fixture/echo"),
		Runtime: "provided.al2023", Handler: "bootstrap", Timeout: timeout, MemorySize: 128,
		LogFormat: "JSON", ApplicationLogLevel: "INFO",
		Environment: map[string]string{"TABLE_NAME": "", "FROM_TEMPLATE": "yes"},
	}
	rie, err := BuildEmulator(ctx, root, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := Build(ctx, root, out, []*samtemplate.Function{f}, 2); err != nil {
		t.Fatal(err)
	}
	console := &lines{}
	fn, err := StartWith(ctx, rie, BootstrapPath(out, f.LogicalID), f, map[string]string{"TABLE_NAME": "local"}, console, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	return fn, console
}

func invoke(t *testing.T, fn *Function, path string) ([]byte, error) {
	t.Helper()
	payload, _ := json.Marshal(map[string]string{"rawPath": path})
	return fn.Invoke(context.Background(), payload)
}

func TestInvoke(t *testing.T) {
	fn, console := startEcho(t, 2*time.Second)

	t.Run("result", func(t *testing.T) {
		got, err := invoke(t, fn, "/ok")
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(got, &resp); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"/ok"`) {
			t.Errorf("result = %s (%v), want status 200 echoing the event", got, err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		got, err := invoke(t, fn, "/env")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"TABLE_NAME=local", "FROM_TEMPLATE=yes", "AWS_LAMBDA_FUNCTION_NAME=EchoFunction", "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128"} {
			if !strings.Contains(string(got), want) {
				t.Errorf("environment lacks %s", want)
			}
		}
	})
	for _, tt := range []struct{ path, wantType string }{
		{"/fail", "errorString"},
		{"/panic", "string"},
		{"/sleep", "Sandbox.Timedout"},
	} {
		t.Run("error "+tt.path, func(t *testing.T) {
			got, err := invoke(t, fn, tt.path)
			var ierr *Error
			if !errors.As(err, &ierr) || ierr.Type != tt.wantType {
				t.Fatalf("Invoke(%s) = %s, %v; want an *Error of type %s", tt.path, got, err, tt.wantType)
			}
			// The environment is reset after a failure and serves the next invocation.
			if _, err := invoke(t, fn, "/ok"); err != nil {
				t.Errorf("after %s: %v", tt.path, err)
			}
		})
	}
	t.Run("a caller that gives up", func(t *testing.T) {
		// A client that closes its connection mid-invocation: the emulator still runs the
		// invocation to its end, and takes the next one only then.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		payload, _ := json.Marshal(map[string]string{"rawPath": "/sleep"})
		if got, err := fn.Invoke(ctx, payload); err == nil {
			t.Errorf("Invoke(/sleep) = %s; want an error", got)
		}
		if _, err := invoke(t, fn, "/ok"); err != nil {
			t.Fatalf("the next invocation: %v", err)
		}
		select {
		case <-fn.Done():
			t.Fatalf("the emulator exited:\n%s", console.String())
		default:
		}
	})
	t.Run("no statusCode is a result", func(t *testing.T) {
		got, err := invoke(t, fn, "/nostatus")
		if err != nil || string(got) != `{"hello":"world"}` {
			t.Errorf("Invoke = %s, %v; want {\"hello\":\"world\"}", got, err)
		}
	})
	t.Run("output is prefixed", func(t *testing.T) {
		out := console.String()
		for _, want := range []string{`[EchoFunction] {"msg":"echo","path":"/ok"}`, "[EchoFunction] REPORT RequestId:", "Init Duration:"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestStopLeavesNoProcess(t *testing.T) {
	fn, _ := startEcho(t, 3*time.Second)
	if _, err := invoke(t, fn, "/ok"); err != nil { // starts the bootstrap
		t.Fatal(err)
	}
	before, err := proctree.Descendants(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(before) < 2 {
		t.Fatalf("descendants before Stop = %v, want the emulator and the bootstrap", before)
	}
	fn.Stop()
	// Each process that was running must end: an orphan is no descendant any more, so ask after
	// each one by its pid, not after the descendants.
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range before {
		for proctree.Running(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if proctree.Running(pid) {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	if after, err := proctree.Descendants(os.Getpid()); err != nil || len(after) != 0 {
		t.Errorf("descendants after Stop = %v, %v; want none", after, err)
	}
}

func TestStartWithInfoLogReportsInit(t *testing.T) {
	fn, console := startEchoWith(t, 3*time.Second, Options{LogLevel: "info"})
	if _, err := invoke(t, fn, "/ok"); err != nil {
		t.Fatal(err)
	}
	// The emulator logs INIT REPORT before it answers, but its output comes through a pipe.
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(console.String(), "INIT REPORT(durationMs: ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if out := console.String(); !strings.Contains(out, "[EchoFunction] ") || !strings.Contains(out, "INIT REPORT(durationMs: ") {
		t.Errorf("output lacks the emulator's INIT REPORT line:\n%s", out)
	}
	children, err := proctree.Descendants(fn.PID())
	if err != nil {
		t.Fatal(err)
	}
	var comms []string
	for _, c := range children {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c))
		comms = append(comms, strings.TrimSpace(string(b)))
	}
	if !slices.Contains(comms, "bootstrap") {
		t.Errorf("processes under PID %d: got %v, want the bootstrap among them", fn.PID(), comms)
	}
}

func TestBuildFor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function")
	}
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	f := &samtemplate.Function{LogicalID: "EchoFunction", CodeDir: filepath.Join(root, "cmd/localapi/testdata/fixture/echo")}
	for _, tt := range []struct {
		goarch string
		want   elf.Machine
	}{
		{"arm64", elf.EM_AARCH64},
		{"amd64", elf.EM_X86_64},
	} {
		t.Run(tt.goarch, func(t *testing.T) {
			dir := filepath.Join(out, tt.goarch)
			if err := BuildFor(context.Background(), root, dir, []*samtemplate.Function{f}, 1, "linux", tt.goarch); err != nil {
				t.Fatal(err)
			}
			bin, err := elf.Open(BootstrapPath(dir, f.LogicalID))
			if err != nil {
				t.Fatal(err)
			}
			defer bin.Close()
			if bin.Machine != tt.want {
				t.Errorf("machine: got %v, want %v", bin.Machine, tt.want)
			}
		})
	}
}

// TestStartWhenAnotherProcessTookThePort provokes the collision a start can meet: the port
// chosen for the emulator is bound by someone else before the emulator binds it. The emulator
// then exits, while a dial to the port would still succeed; the start must notice and retry
// on other ports.
func TestStartWhenAnotherProcessTookThePort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if calls == 1 && err == nil {
			ports[0] = takenPort
		}
		return ports, err
	}
	t.Cleanup(func() { pickPorts = freePorts })

	fn, _ := startEcho(t, 3*time.Second)
	if calls < 2 {
		t.Errorf("ports chosen %d times, want a second choice after the collision", calls)
	}
	if strings.Contains(fn.url, ":"+strconv.Itoa(takenPort)+"/") {
		t.Errorf("the function's address %s is the port another process holds", fn.url)
	}
	if _, err := invoke(t, fn, "/ok"); err != nil {
		t.Errorf("invoke after the collision: %v", err)
	}
}

func TestBuildAll(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function")
	}
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	fns := []*samtemplate.Function{
		{LogicalID: "EchoFunction", CodeDir: filepath.Join(root, "cmd/localapi/testdata/fixture/echo")},
		{LogicalID: "EchoAgainFunction", CodeDir: filepath.Join(root, "cmd/localapi/testdata/fixture/echo")},
	}
	rie, err := BuildAll(context.Background(), root, out, fns)
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.Stat(BootstrapPath(out, "EchoFunction"))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := os.Stat(BootstrapPath(out, "EchoAgainFunction")); err != nil || !os.SameFile(first, again) {
		t.Errorf("the two functions of one folder: %v; want one binary linked twice", err)
	}
	if _, err := os.Stat(rie); err != nil {
		t.Errorf("runtime interface emulator: %v", err)
	}
	// A second build replaces the links with the binaries it finds up to date.
	if _, err := BuildAll(context.Background(), root, out, fns); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(BootstrapPath(out, "EchoFunction")); err != nil {
		t.Errorf("after a second build: %v", err)
	}
	bad := []*samtemplate.Function{{LogicalID: "Outside", CodeDir: filepath.Dir(root)}}
	if _, err := BuildAll(context.Background(), root, out, bad); err == nil || !strings.Contains(err.Error(), "outside the module") {
		t.Errorf("a CodeUri outside the module: got %v, want an error saying so", err)
	}
}
