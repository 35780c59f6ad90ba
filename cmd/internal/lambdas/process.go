package lambdas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/apitokens/apitokens/cmd/internal/proctree"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// maxResponse is Lambda's limit on a synchronous invocation's response.
const maxResponse = 6 << 20

// Function is one function running under its own Runtime Interface Emulator process: one
// execution environment, so invocations wait for each other as they would for a single
// concurrent instance.
type Function struct {
	// Name is the function's logical id.
	Name    string
	url     string
	timeout time.Duration
	cmd     *exec.Cmd
	done    chan struct{}
	busy    chan struct{}
	client  *http.Client
}

// Start runs the function's bootstrap under the emulator binary rie, on free loopback ports,
// with the environment Lambda would give it plus env (which wins). Every line the emulator and
// the function print goes to out as one Write, prefixed with "[Name] "; out must be safe for
// concurrent use.
func Start(ctx context.Context, rie, bootstrap string, f *samtemplate.Function, env map[string]string, out io.Writer) (*Function, error) {
	return StartWith(ctx, rie, bootstrap, f, env, out, Options{})
}

// Options adjusts how StartWith runs the emulator.
type Options struct {
	// LogLevel is the emulator's own log level, "warn" when empty. At "info" it reports each
	// init phase, among others with a line "INIT REPORT(durationMs: …)": the time from starting
	// the bootstrap until it first asks the runtime API for an event.
	LogLevel string
}

// StartWith is Start with options.
func StartWith(ctx context.Context, rie, bootstrap string, f *samtemplate.Function, env map[string]string, out io.Writer, opts Options) (*Function, error) {
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	var lastErr error
	for range 3 {
		fn, err := startOnce(ctx, rie, bootstrap, f, env, out, opts)
		if err == nil {
			return fn, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("start %s under the runtime interface emulator: %w", f.LogicalID, lastErr)
}

// pickPorts chooses the emulator's two ports; a test replaces it to provoke a collision.
var pickPorts = freePorts

func startOnce(ctx context.Context, rie, bootstrap string, f *samtemplate.Function, env map[string]string, out io.Writer, opts Options) (*Function, error) {
	ports, err := pickPorts(2)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	cmd := exec.Command(rie,
		"--log-level", opts.LogLevel,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(ports[1]),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	for k, v := range Environment(f, filepath.Dir(bootstrap), env) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	w := &lineWriter{prefix: "[" + f.LogicalID + "] ", out: out}
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group, so a Ctrl-C meant for the local run reaches it only through Stop;
	// and killed with the local run should that die without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fn := &Function{
		Name:    f.LogicalID,
		url:     "http://" + addr + "/2015-03-31/functions/function/invocations",
		timeout: f.Timeout,
		cmd:     cmd,
		done:    make(chan struct{}),
		busy:    make(chan struct{}, 1),
		client:  &http.Client{},
	}
	go func() { _ = cmd.Wait(); close(fn.done) }()
	if err := fn.awaitListening(ctx, ports); err != nil {
		fn.Stop()
		return nil, err
	}
	return fn, nil
}

// awaitListening waits until the emulator process itself listens on both of its ports. The
// ports were free when chosen but another process may have bound one since; then the emulator
// exits (bind: address already in use) while a dial would reach the other process, so only
// the listening sockets of the emulator's own process count.
func (fn *Function) awaitListening(ctx context.Context, ports []int) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-fn.done:
			return errors.New("the emulator exited while starting")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		ready := true
		for _, port := range ports {
			ok, err := proctree.Listens(fn.cmd.Process.Pid, port)
			ready = ready && ok && err == nil
		}
		if ready {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the emulator did not listen within 15s")
}

// Environment returns the variables a function runs with: those Lambda sets for a provided
// runtime, the function's own (Globals merged), then extra.
func Environment(f *samtemplate.Function, taskRoot string, extra map[string]string) map[string]string {
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              taskRoot,
		"_HANDLER":                        f.Handler,
		"AWS_LAMBDA_FUNCTION_NAME":        f.LogicalID,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.MemorySize),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(f.Timeout / time.Second)),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + f.LogicalID,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "local",
	}
	if f.LogFormat == "JSON" {
		env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
		if f.ApplicationLogLevel != "" {
			env["AWS_LAMBDA_LOG_LEVEL"] = f.ApplicationLogLevel
		}
	}
	maps.Copy(env, f.Environment)
	maps.Copy(env, extra)
	return env
}

// Error is an invocation that did not return a result: the function returned an error,
// panicked, crashed or timed out.
type Error struct {
	Function string
	Type     string
	Message  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("function %s: %s: %s", e.Function, e.Type, e.Message)
}

// Invoke sends payload to the function and returns its result, waiting first for an invocation
// in progress to end. A failed invocation is an *Error.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	select {
	case f.busy <- struct{}{}:
		defer func() { <-f.busy }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// A caller that gives up (a client closing its connection) does not end the invocation: as
	// in Lambda, it runs to its end or its timeout, and this environment takes no other until
	// then. Releasing it early would send the emulator an invocation while it still holds the
	// last one, which crashes it (a nil dereference after "ReserveFailed: AlreadyReserved",
	// aws/aws-lambda-runtime-interface-emulator#131). The emulator ends a timed-out invocation
	// itself; the deadline only guards against it hanging.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout+5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.Name, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read the result: %w", f.Name, err)
	}
	if len(body) > maxResponse {
		return nil, &Error{Function: f.Name, Type: "Function.ResponseSizeTooLarge", Message: "the response exceeds 6 MB"}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, invokeError(f.Name, body, "Runtime.ExitError")
	}
	// The emulator answers 200 for a handler's error and for a timeout, and drops the
	// X-Amz-Function-Error header Lambda would set: recognise them by their bodies.
	if bytes.HasPrefix(body, []byte("Task timed out after")) {
		return nil, &Error{Function: f.Name, Type: "Sandbox.Timedout", Message: string(body)}
	}
	if isErrorPayload(body) {
		return nil, invokeError(f.Name, body, "Function.Error")
	}
	return body, nil
}

// errorPayload is the body the Lambda runtime API reports a failed invocation with.
type errorPayload struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
	StackTrace   any    `json:"stackTrace"`
}

// isErrorPayload reports whether body is an error report: an object with errorMessage and
// nothing beyond errorType and stackTrace.
func isErrorPayload(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	if _, ok := m["errorMessage"]; !ok {
		return false
	}
	for k := range m {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return false
		}
	}
	return true
}

func invokeError(name string, body []byte, fallback string) *Error {
	var p errorPayload
	if json.Unmarshal(body, &p) == nil && p.ErrorMessage != "" {
		if p.ErrorType == "" {
			p.ErrorType = fallback
		}
		return &Error{Function: name, Type: p.ErrorType, Message: p.ErrorMessage}
	}
	return &Error{Function: name, Type: fallback, Message: string(bytes.TrimSpace(body))}
}

// Stop ends the emulator and the function it runs (which the emulator starts in a process
// group of its own), and waits for them.
func (f *Function) Stop() {
	if f == nil || f.cmd.Process == nil {
		return
	}
	pid := f.cmd.Process.Pid
	children, _ := proctree.Descendants(pid)
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-f.done
	}
	// The emulator stops its function on SIGTERM; make sure of it should it have died first.
	for _, c := range children {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
}

// PID returns the emulator's process id; the bootstrap, once started, is its child.
func (f *Function) PID() int { return f.cmd.Process.Pid }

// Done is closed when the emulator process has exited.
func (f *Function) Done() <-chan struct{} { return f.done }

func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// lineWriter writes each complete line it is given to out, prefixed, in one Write.
type lineWriter struct {
	prefix string
	out    io.Writer
	mu     sync.Mutex
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := make([]byte, 0, len(w.prefix)+i+1)
		line = append(append(append(line, w.prefix...), bytes.TrimRight(w.buf[:i], "\r")...), '\n')
		w.buf = w.buf[i+1:]
		if _, err := w.out.Write(line); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}
