package lambdas

import (
	"context"
	"encoding/json"
	"maps"
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

// echoBuild is the echo test function and the emulator, built once per test.
type echoBuild struct {
	rie, bootstrap string
	fn             *samtemplate.Function
}

func buildEcho(t *testing.T) echoBuild {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a function")
	}
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	f := &samtemplate.Function{
		LogicalID: "EchoFunction", CodeDir: filepath.Join(root, "cmd/localapi/testdata/fixture/echo"),
		Runtime: "provided.al2023", Handler: "bootstrap", Timeout: 5 * time.Second, MemorySize: 128,
	}
	rie, err := BuildAll(context.Background(), root, out, []*samtemplate.Function{f})
	if err != nil {
		t.Fatal(err)
	}
	return echoBuild{rie: rie, bootstrap: BootstrapPath(out, f.LogicalID), fn: f}
}

// pool starts a pool of the echo function with env added to its environment.
func (b echoBuild) pool(t *testing.T, maxEnvs int, idle time.Duration, env map[string]string) (*Pool, *lines) {
	t.Helper()
	console := &lines{}
	f := *b.fn
	f.Environment = env
	p := NewPool(context.Background(), PoolConfig{
		RIE: b.rie, Bootstrap: b.bootstrap, Function: &f, Out: console, Max: maxEnvs, IdleTimeout: idle,
		OnExit: func(err error) { t.Errorf("%v", err) },
	})
	t.Cleanup(p.Stop)
	return p, console
}

// second is what the echo function's /second path answers: its process and when it worked.
type second struct {
	PID        int
	Start, End int64
}

// overlapping sends n one-second calls at once and returns their answers and errors, and the
// most calls the pool held at once (in an environment or waiting for one to start).
func overlapping(t *testing.T, p *Pool, n int) ([]second, []error, int) {
	t.Helper()
	answers, errs := make([]second, n), make([]error, n)
	peak, stop, done := 0, make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			c := p.Count()
			peak = max(peak, c.Busy+c.Starting)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got, err := p.Invoke(context.Background(), []byte(`{"rawPath":"/second"}`))
			if errs[i] = err; err == nil {
				if err := json.Unmarshal(got, &answers[i]); err != nil || answers[i].PID == 0 {
					t.Errorf("call %d: %s (%v), want a pid", i, got, err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-done
	return answers, errs, peak
}

// inFlightTogether reports whether every call was running while every other one was.
func inFlightTogether(calls []second) bool {
	for _, a := range calls {
		for _, b := range calls {
			if a.Start >= b.End || b.Start >= a.End {
				return false
			}
		}
	}
	return true
}

func pids(calls []second) []int {
	set := map[int]bool{}
	for _, c := range calls {
		set[c.PID] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// TestPool runs a pool of the echo function, built once: see the subtests.
func TestPool(t *testing.T) {
	b := buildEcho(t)
	t.Run("scales out", func(t *testing.T) { testPoolScalesOut(t, b) })
	t.Run("shutdown", func(t *testing.T) { testPoolShutdown(t, b) })
	t.Run("reserved concurrency", func(t *testing.T) { testPoolReservedConcurrency(t, b) })
}

// testPoolScalesOut: overlapping calls each get an environment of their own, a new one only when
// every other is busy, up to the maximum; one call more is throttled, not queued.
func testPoolScalesOut(t *testing.T, b echoBuild) {
	p, console := b.pool(t, 3, 0, nil)

	// Cold starts may take longer than a call on a loaded machine: that calls were in flight
	// together is what the pool held at once, and their work overlapped only when both
	// environments were warm.
	two, errs, peak := overlapping(t, p, 2)
	if err := firstError(errs); err != nil {
		t.Fatal(err)
	}
	if peak != 2 || len(pids(two)) != 2 {
		t.Fatalf("two overlapping calls: %d in flight at once, processes %v; want both at once in two", peak, pids(two))
	}
	if c := p.Count(); c.Environments != 2 || c.ColdStarts != 2 || c.Busy != 0 {
		t.Errorf("after two overlapping calls: %+v, want 2 environments, 2 cold starts, none busy", c)
	}

	// Two again: the two warm environments serve them.
	again, errs, _ := overlapping(t, p, 2)
	if err := firstError(errs); err != nil {
		t.Fatal(err)
	}
	if c := p.Count(); c.Environments != 2 || c.ColdStarts != 2 || !slices.Equal(pids(again), pids(two)) || !inFlightTogether(again) {
		t.Errorf("two overlapping calls again: %+v in processes %v, work overlapping %v; want the same 2 environments (%v) at once",
			c, pids(again), inFlightTogether(again), pids(two))
	}

	three, errs, peak := overlapping(t, p, 3)
	if err := firstError(errs); err != nil {
		t.Fatal(err)
	}
	if peak != 3 || len(pids(three)) != 3 {
		t.Errorf("three overlapping calls: %d in flight at once, processes %v; want all at once in three", peak, pids(three))
	}
	if c := p.Count(); c.Environments != 3 || c.ColdStarts != 3 {
		t.Errorf("after three overlapping calls: %+v, want 3 environments", c)
	}

	// At the maximum, the fourth call is throttled at once.
	four, errs, peak := overlapping(t, p, 4)
	var served []second
	throttled := 0
	for i, err := range errs {
		switch {
		case err == nil:
			served = append(served, four[i])
		case IsThrottled(err):
			throttled++
			if !strings.Contains(err.Error(), "Rate Exceeded.") {
				t.Errorf("throttled call: %v, want Lambda's message", err)
			}
		default:
			t.Errorf("call %d: %v", i, err)
		}
	}
	if throttled != 1 || len(served) != 3 || len(pids(served)) != 3 || peak != 3 {
		t.Errorf("four overlapping calls at most 3: %d served in %d environments, %d throttled, %d in flight at once; want 3, 3, 1, 3",
			len(served), len(pids(served)), throttled, peak)
	}
	if c := p.Count(); c.Environments != 3 || c.ColdStarts != 3 {
		t.Errorf("after four overlapping calls: %+v, want still 3 environments", c)
	}
	for _, want := range []string{"[EchoFunction] INIT_START Environment: 1", "[EchoFunction#3] INIT_START Environment: 3\tOthers: 2, none free\tMax: 3",
		"[EchoFunction#3] INIT_REPORT Init Duration: ", "[EchoFunction#3] REPORT RequestId:"} {
		if !strings.Contains(console.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, console.String())
		}
	}
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// testPoolShutdown: an environment idle for the idle timeout is shut down; a function that
// registered an extension gets SIGTERM first, and SIGKILL when it outlives the budget; one
// that did not is killed at once. Stop shuts down the same way.
func testPoolShutdown(t *testing.T, b echoBuild) {
	for _, tt := range []struct {
		name     string
		env      map[string]string
		idle     time.Duration
		wantFile bool
		wantLog  string
	}{
		{"idle, with an extension", map[string]string{"SIGTERM_DIR": "?"}, 300 * time.Millisecond, true, "(idle for 300ms): SIGTERM, the runtime exited after "},
		{"stop, with an extension", map[string]string{"SIGTERM_DIR": "?"}, 0, true, "(stopping): SIGTERM, the runtime exited after "},
		{"idle, past the budget", map[string]string{"SIGTERM_DIR": "?", "SIGTERM_SLOW": "1"}, 300 * time.Millisecond, false, "(idle for 300ms): SIGTERM, still running after "},
		{"idle, no extension", map[string]string{"SIGTERM_DIR": ""}, 300 * time.Millisecond, false, "(idle for 300ms): SIGKILL (no extension registered)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.env["SIGTERM_DIR"] == "?" {
				tt.env["SIGTERM_DIR"] = dir
			}
			p, console := b.pool(t, 2, tt.idle, tt.env)
			if _, err := p.Invoke(context.Background(), []byte(`{"rawPath":"/ok"}`)); err != nil {
				t.Fatal(err)
			}
			p.mu.Lock()
			emulator := p.free[0].fn.PID()
			p.mu.Unlock()
			runtime, err := proctree.Descendants(emulator)
			if err != nil || len(runtime) != 1 {
				t.Fatalf("processes under the emulator: %v, %v; want the bootstrap", runtime, err)
			}
			if tt.idle == 0 {
				p.Stop()
			}
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(console.String(), "SHUTDOWN") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if c := p.Count(); c.Environments != 0 {
				t.Errorf("after the shutdown: %+v, want no environment", c)
			}
			if out := console.String(); !strings.Contains(out, "[EchoFunction] SHUTDOWN Environment: 1\t"+tt.wantLog) {
				t.Errorf("output lacks %q:\n%s", tt.wantLog, out)
			}
			_, err = os.Stat(filepath.Join(dir, strconv.Itoa(runtime[0])))
			if got := err == nil; got != tt.wantFile {
				t.Errorf("the function wrote its SIGTERM file: %v (%v), want %v", got, err, tt.wantFile)
			}
			for _, pid := range append(runtime, emulator) {
				if proctree.Running(pid) {
					t.Errorf("process %d still runs after the shutdown", pid)
				}
			}
			// The next call starts a new environment.
			if tt.idle > 0 {
				if _, err := p.Invoke(context.Background(), []byte(`{"rawPath":"/ok"}`)); err != nil {
					t.Fatal(err)
				}
				if c := p.Count(); c.ColdStarts != 2 {
					t.Errorf("a call after the shutdown: %+v, want a second cold start", c)
				}
			}
		})
	}
}

// testPoolReservedConcurrency: ReservedConcurrentExecutions wins over the local maximum, and 0
// throttles every call.
func testPoolReservedConcurrency(t *testing.T, b echoBuild) {
	zero := 0
	f := *b.fn
	f.ReservedConcurrency = &zero
	b.fn = &f
	p, _ := b.pool(t, 4, 0, nil)
	if err := p.Warm(); err != nil {
		t.Fatal(err)
	}
	_, err := p.Invoke(context.Background(), []byte(`{"rawPath":"/ok"}`))
	if !IsThrottled(err) || !strings.Contains(err.Error(), "ReservedFunctionConcurrentInvocationLimitExceeded") {
		t.Errorf("a call with ReservedConcurrentExecutions 0: %v, want throttled for the reservation", err)
	}
	if c := p.Count(); c.Environments != 0 || c.Max != 0 || !c.Reserved {
		t.Errorf("count %+v, want no environment, at most 0, reserved", c)
	}
}
