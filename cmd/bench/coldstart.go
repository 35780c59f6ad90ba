package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apitokens/apitokens/cmd/internal/lambdas"
	"github.com/apitokens/apitokens/cmd/internal/proctree"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// subject is one function whose cold starts are measured.
type subject struct {
	fn         *samtemplate.Function
	baseline   bool
	floor      bool
	authorizer bool
	// calls returns the environment and the n events of one cold start: the first call's, then
	// the warm calls'. answer sums up a call's result.
	calls  func(ctx context.Context, n int) (map[string]string, [][]byte, error)
	answer func(result []byte) string
}

// coldBench starts functions under the Runtime Interface Emulator, one fresh execution
// environment per run.
type coldBench struct {
	rie       string
	hostDir   string
	runs      int
	warmCalls int
	progress  io.Writer
}

// sample is what one cold start measured.
type sample struct {
	rieInit, init, first time.Duration
	warm                 []time.Duration
	rss, hwm             int64
	answer               string
	packageInit          map[string]time.Duration
}

// measureAll starts each subject's function c.runs times and returns the medians, in the order
// of subjects. The runs go round the subjects, so that a change in the machine's load spreads
// over all of them rather than falling on one. A subject that fails is dropped, its error kept.
func (c *coldBench) measureAll(ctx context.Context, subjects []subject) ([]ColdStart, error) {
	samples := make([][]sample, len(subjects))
	failed := make([]error, len(subjects))
	for round := range c.runs {
		for i, s := range subjects {
			if failed[i] != nil {
				continue
			}
			smp, err := c.once(ctx, s)
			if err != nil {
				failed[i] = fmt.Errorf("%s, cold start %d: %w", s.fn.LogicalID, round+1, err)
				if ctx.Err() != nil {
					return nil, errors.Join(failed...)
				}
				continue
			}
			samples[i] = append(samples[i], smp)
		}
		fmt.Fprintf(c.progress, "[bench] cold starts: round %d of %d done\n", round+1, c.runs)
	}
	var out []ColdStart
	for i, s := range subjects {
		if failed[i] != nil {
			continue
		}
		cs := summarize(s, samples[i])
		fmt.Fprintf(c.progress, "[bench] %-26s init %s, first call %s, warm call %s\n",
			cs.Function, formatMs(cs.Init), formatMs(cs.FirstCall), formatMs(cs.WarmCall))
		out = append(out, cs)
	}
	return out, errors.Join(failed...)
}

// summarize returns the medians of a subject's samples.
func summarize(s subject, samples []sample) ColdStart {
	out := ColdStart{Function: s.fn.LogicalID, Baseline: s.baseline, Floor: s.floor, Authorizer: s.authorizer, Runs: len(samples)}
	var rieInit, init, first, warm, pkgInit []time.Duration
	var rss, hwm []int64
	perPackage := map[string][]time.Duration{}
	var answers []string
	for _, smp := range samples {
		rieInit, init, first = append(rieInit, smp.rieInit), append(init, smp.init), append(first, smp.first)
		warm = append(warm, smp.warm...)
		rss, hwm = append(rss, smp.rss), append(hwm, smp.hwm)
		var total time.Duration
		for pkg, d := range smp.packageInit {
			total += d
			perPackage[pkg] = append(perPackage[pkg], d)
		}
		pkgInit = append(pkgInit, total)
		if !slices.Contains(answers, smp.answer) {
			answers = append(answers, smp.answer)
		}
	}
	out.RIEInit, out.Init, out.FirstCall, out.WarmCall = median(rieInit), median(init), median(first), median(warm)
	if len(init) > 0 {
		out.InitMin = slices.Min(init)
	}
	out.RSS, out.HWM, out.PackageInit = median(rss), median(hwm), median(pkgInit)
	out.Answer = strings.Join(answers, "; ")
	for pkg, ds := range perPackage {
		out.SlowestPackages = append(out.SlowestPackages, PackageInit{Package: pkg, Duration: median(ds)})
	}
	slices.SortFunc(out.SlowestPackages, func(a, b PackageInit) int {
		if a.Duration != b.Duration {
			return cmp.Compare(b.Duration, a.Duration)
		}
		return strings.Compare(a.Package, b.Package)
	})
	out.SlowestPackages = out.SlowestPackages[:min(3, len(out.SlowestPackages))]
	return out
}

// once starts a fresh emulator and bootstrap, makes the first call, reads the bootstrap's
// memory, makes the warm calls, and stops it all.
func (c *coldBench) once(ctx context.Context, s subject) (sample, error) {
	env, calls, err := s.calls(ctx, 1+c.warmCalls)
	if err != nil {
		return sample{}, err
	}
	return c.start(ctx, s, env, calls)
}

// start is once with the environment and the events already made.
func (c *coldBench) start(ctx context.Context, s subject, env map[string]string, calls [][]byte) (sample, error) {
	var smp sample
	var err error
	bootstrap := lambdas.BootstrapPath(c.hostDir, s.fn.LogicalID)
	if smp.packageInit, err = packageInit(ctx, bootstrap, s.fn, env); err != nil {
		return smp, err
	}
	log := &capture{}
	fn, err := lambdas.StartWith(ctx, c.rie, bootstrap, s.fn, env, log, lambdas.Options{LogLevel: "info"})
	if err != nil {
		return smp, err
	}
	defer fn.Stop()

	start := time.Now()
	result, err := fn.Invoke(ctx, calls[0])
	smp.first = time.Since(start)
	if err != nil {
		return smp, fmt.Errorf("first call: %w", err)
	}
	smp.answer = s.answer(result)
	if smp.rss, smp.hwm, err = bootstrapMemory(fn.PID()); err != nil {
		return smp, err
	}
	// The emulator prints its report before it answers, but its output reaches us through a pipe.
	deadline := time.Now().Add(2 * time.Second)
	for {
		var ok bool
		smp.rieInit, smp.init, ok = parseEmulatorLog(log.String())
		if ok || time.Now().After(deadline) {
			if !ok {
				return smp, fmt.Errorf("the emulator's log lacks INIT REPORT or REPORT's Init Duration:\n%s", log.String())
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	for _, ev := range calls[1:] {
		start := time.Now()
		if _, err := fn.Invoke(ctx, ev); err != nil {
			return smp, fmt.Errorf("warm call: %w", err)
		}
		smp.warm = append(smp.warm, time.Since(start))
	}
	return smp, nil
}

// packageInit runs a bootstrap outside the emulator with GODEBUG=inittrace=1 and returns how
// long each package's init took. Without the runtime API's address, lambda.Start ends the
// process as soon as main reaches it.
func packageInit(ctx context.Context, bootstrap string, f *samtemplate.Function, env map[string]string) (map[string]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	for k, v := range lambdas.Environment(f, cmd.Dir, env) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "GODEBUG=inittrace=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	_ = cmd.Run() // it exits 1 at lambda.Start, by design
	trace := parseInitTrace(stderr.String())
	if len(trace) == 0 {
		return nil, fmt.Errorf("%s printed no init trace:\n%s", bootstrap, stderr.String())
	}
	return trace, nil
}

var initTraceLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock`)

// parseInitTrace reads the lines GODEBUG=inittrace=1 prints, such as
//
//	init github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas @2.5 ms, 0.77 ms clock, 586744 bytes, 3152 allocs
//
// and returns each package's init time.
func parseInitTrace(out string) map[string]time.Duration {
	trace := map[string]time.Duration{}
	for line := range strings.SplitSeq(out, "\n") {
		m := initTraceLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if ms, err := strconv.ParseFloat(m[2], 64); err == nil {
			trace[m[1]] += time.Duration(ms * float64(time.Millisecond))
		}
	}
	return trace
}

var (
	rieInitLine  = regexp.MustCompile(`\bInit Duration: ([0-9.]+) ms`)
	initReportMs = regexp.MustCompile(`\bINIT REPORT\(durationMs: ([0-9.]+)\)`)
)

// parseEmulatorLog finds, in the emulator's output of a first call, the Init Duration of its
// REPORT line and the duration of its INIT REPORT line.
func parseEmulatorLog(log string) (rieInit, init time.Duration, ok bool) {
	ms := func(re *regexp.Regexp) (time.Duration, bool) {
		m := re.FindStringSubmatch(log)
		if m == nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, false
		}
		return time.Duration(v * float64(time.Millisecond)), true
	}
	rieInit, ok1 := ms(rieInitLine)
	init, ok2 := ms(initReportMs)
	return rieInit, init, ok1 && ok2
}

// bootstrapMemory returns VmRSS and VmHWM, in bytes, of the bootstrap the emulator with id pid
// started.
func bootstrapMemory(pid int) (rss, hwm int64, err error) {
	procs, err := proctree.Descendants(pid)
	if err != nil {
		return 0, 0, err
	}
	for _, p := range procs {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		if err != nil || strings.TrimSpace(string(comm)) != "bootstrap" {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			return 0, 0, fmt.Errorf("bootstrap memory: %w", err)
		}
		return parseProcStatus(string(status))
	}
	return 0, 0, errors.New("bootstrap memory: no bootstrap process under the emulator")
}

// parseProcStatus reads VmRSS and VmHWM, in bytes, from the text of /proc/<pid>/status.
func parseProcStatus(status string) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%s: unexpected value %q", name, value)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New("no VmRSS and VmHWM in the process status")
	}
	return rss, hwm, sc.Err()
}

// fileSize returns the size of the bootstrap of id under dir.
func fileSize(dir, id string) (int64, error) {
	st, err := os.Stat(lambdas.BootstrapPath(dir, id))
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// baselineFunction is a function of cmd/bench/<dir> that the service's are compared
// with (hello world, or the SDK floor), with the settings of like.
func baselineFunction(root, id, dir string, like *samtemplate.Function) *samtemplate.Function {
	return &samtemplate.Function{
		LogicalID: id, CodeDir: filepath.Join(root, "cmd", "bench", dir),
		Runtime: like.Runtime, Handler: like.Handler, Timeout: like.Timeout, MemorySize: like.MemorySize,
		LogFormat: like.LogFormat, ApplicationLogLevel: like.ApplicationLogLevel,
		Environment: map[string]string{},
	}
}

// capture keeps what the emulator prints; the emulator writes from several goroutines.
type capture struct {
	mu sync.Mutex
	b  strings.Builder
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.Write(p)
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}
