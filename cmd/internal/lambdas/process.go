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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apitokens/apitokens/cmd/internal/proctree"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// maxResponse is Lambda's limit on a synchronous invocation's response.
const maxResponse = 6 << 20

// Function is one function running under its own Runtime Interface Emulator process: one
// execution environment, so invocations wait for each other as they would for a single
// concurrent instance. A Pool runs as many of them as the calls in flight need.
type Function struct {
	// Name is the function's logical id.
	Name    string
	url     string
	timeout time.Duration
	cmd     *exec.Cmd
	done    chan struct{}
	busy    chan struct{}
	client  *http.Client
	opts    Options
	// extension is set once the function registers an extension with the Extensions API,
	// which earns its runtime a SIGTERM before it is stopped.
	extension atomic.Bool
	// stopping hides the emulator's own complaints about the runtime it is losing.
	stopping atomic.Bool
	stopOnce sync.Once
	stopped  Shutdown
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
	// LogLevel is the level from which the emulator's own lines are shown, "warn" when empty.
	// At "info" it reports each init phase, among others with a line "INIT REPORT(durationMs:
	// …)": the time from starting the bootstrap until it first asks the runtime API for an
	// event. The emulator runs at "info" at least whatever the level, since the local run reads
	// that line and the one saying an extension registered.
	LogLevel string
	// Prefix begins every line the environment prints; "[Name] " when empty.
	Prefix string
	// OnInit, when set, is called with the init duration once the bootstrap has initialised
	// (the emulator's INIT REPORT), from the goroutine that copies the output.
	OnInit func(time.Duration)
}

// StartWith is Start with options.
func StartWith(ctx context.Context, rie, bootstrap string, f *samtemplate.Function, env map[string]string, out io.Writer, opts Options) (*Function, error) {
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	if opts.Prefix == "" {
		opts.Prefix = "[" + f.LogicalID + "] "
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
	level := "info"
	if opts.LogLevel == "debug" || opts.LogLevel == "trace" {
		level = opts.LogLevel
	}
	cmd := exec.Command(rie,
		"--log-level", level,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(ports[1]),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	for k, v := range Environment(f, filepath.Dir(bootstrap), env) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	fn := &Function{
		Name:    f.LogicalID,
		url:     "http://" + addr + "/2015-03-31/functions/function/invocations",
		timeout: f.Timeout,
		cmd:     cmd,
		done:    make(chan struct{}),
		busy:    make(chan struct{}, 1),
		client:  &http.Client{},
		opts:    opts,
	}
	w := &lineWriter{prefix: opts.Prefix, out: out, keep: fn.observe}
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group, so a Ctrl-C meant for the local run reaches it only through Stop;
	// and killed with the local run should that die without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
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

// Stop shuts the environment down (see Shutdown).
func (f *Function) Stop() { f.Shutdown() }

// ShutdownBudget is how long Lambda lets a runtime that registered an internal extension run
// after SIGTERM before it sends SIGKILL.
const ShutdownBudget = 500 * time.Millisecond

// Shutdown is how an environment ended.
type Shutdown struct {
	// Graceful is set when the runtime got SIGTERM: it had registered an extension.
	Graceful bool
	// Exited is set when every process of the runtime ended within ShutdownBudget of SIGTERM;
	// the others got SIGKILL then.
	Exited bool
	// Took is the time from SIGTERM until the runtime ended or was killed.
	Took time.Duration
}

// String describes the shutdown for the log.
func (s Shutdown) String() string {
	switch {
	case !s.Graceful:
		return "SIGKILL (no extension registered)"
	case s.Exited:
		return fmt.Sprintf("SIGTERM, the runtime exited after %s", s.Took.Round(time.Millisecond))
	}
	return fmt.Sprintf("SIGTERM, still running after %s: SIGKILL", s.Took.Round(time.Millisecond))
}

// Shutdown ends the environment as Lambda ends one: a runtime that registered an extension
// with the Extensions API gets SIGTERM and ShutdownBudget to finish before SIGKILL; one that
// did not is killed at once. The emulator itself would not do it: on SIGTERM it starts the same
// sequence in the background and exits the process at once, so whether the runtime sees the
// signal is a race. Shutdown then ends the emulator and waits for it. Later calls return the
// first one's result.
func (f *Function) Shutdown() Shutdown {
	if f == nil || f.cmd.Process == nil {
		return Shutdown{}
	}
	f.stopOnce.Do(func() {
		f.stopping.Store(true)
		pid := f.cmd.Process.Pid
		// The runtime, and anything it started, runs in process groups of its own under the
		// emulator.
		runtime, _ := proctree.Descendants(pid)
		if f.extension.Load() && len(runtime) > 0 {
			f.stopped.Graceful = true
			start := time.Now()
			for _, p := range runtime {
				_ = syscall.Kill(p, syscall.SIGTERM)
			}
			f.stopped.Exited = waitGone(runtime, ShutdownBudget)
			f.stopped.Took = time.Since(start)
		}
		for _, p := range runtime {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-f.done
		// Anything the runtime started since the list was read.
		rest, _ := proctree.Descendants(pid)
		for _, p := range rest {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})
	return f.stopped
}

// waitGone waits until none of pids runs, at most budget, and reports whether they all ended.
func waitGone(pids []int, budget time.Duration) bool {
	deadline := time.Now().Add(budget)
	for {
		if !slices.ContainsFunc(pids, proctree.Running) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// emulatorLine matches a line the emulator logs itself: "06 Dec 2026 23:29:20,487 [INFO] (rapid)
// message".
var emulatorLine = regexp.MustCompile(`^\d{2} \w{3} \d{4} [\d:]{8},\d{3} \[([A-Z]+)\] \(rapid\) (.*)$`)

// registered matches the emulator's line for an extension that registered.
var registered = regexp.MustCompile(`^(Internal|External) agent .* registered`)

// levels ranks the emulator's levels, as logrus names them.
var levels = map[string]int{"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARNING": 3, "WARN": 3, "ERROR": 4, "FATAL": 5, "PANIC": 6}

// observe reads a line of the environment's output for what the local run needs to know, and
// reports whether to show it: the function's own lines always, the emulator's from the
// options' level, and none of the emulator's once the environment is being stopped.
func (f *Function) observe(line []byte) bool {
	m := emulatorLine.FindSubmatch(line)
	if m == nil {
		return true
	}
	msg := string(m[2])
	if d, ok := strings.CutPrefix(msg, "INIT REPORT(durationMs: "); ok && f.opts.OnInit != nil {
		if ms, err := strconv.ParseFloat(strings.TrimSuffix(d, ")"), 64); err == nil {
			f.opts.OnInit(time.Duration(ms * float64(time.Millisecond)))
		}
	}
	if registered.MatchString(msg) {
		f.extension.Store(true)
	}
	if f.stopping.Load() {
		return false
	}
	shown, ok := levels[strings.ToUpper(f.opts.LogLevel)]
	if !ok {
		shown = levels["WARN"]
	}
	return levels[string(m[1])] >= shown
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

// lineWriter writes each complete line it is given to out, prefixed, in one Write; when keep
// is set, only the lines it keeps.
type lineWriter struct {
	prefix string
	out    io.Writer
	keep   func(line []byte) bool
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
		text := bytes.TrimRight(w.buf[:i], "\r")
		w.buf = w.buf[i+1:]
		if w.keep != nil && !w.keep(text) {
			continue
		}
		line := make([]byte, 0, len(w.prefix)+len(text)+1)
		line = append(append(append(line, w.prefix...), text...), '\n')
		if _, err := w.out.Write(line); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}
