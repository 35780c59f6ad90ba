// Command benchreport measures the service's speed and cost and writes them up in Markdown
// (`make bench`): the Go benchmarks of the hot paths with their allocations; every template
// function's cold start under the AWS Lambda Runtime Interface Emulator, next to a hello-world
// function built with the same flags; each bootstrap's resident memory after its first call and
// the size of its linux/arm64 build; and the targets the report checks, marked pass or FAIL.
//
// Usage:
//
//	benchreport [-benchtime 1s] [-runs 5] [-warm 3] [-out build/bench/report.md]
//	            [-benchmarks=false] [-coldstarts=false]
//
// It prints the report and writes it to -out. It exits non-zero when something could not be
// measured, not when a target is missed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/smithy-go/logging"

	"github.com/apitokens/apitokens/cmd/localapi/internal/lambdas"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	benchmarks, coldStarts bool
	benchtime              string
	runs                   int
	warmCalls              int
	out                    string
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var opts options
	fl.BoolVar(&opts.benchmarks, "benchmarks", true, "run the hot-path benchmarks")
	fl.BoolVar(&opts.coldStarts, "coldstarts", true, "measure the cold starts")
	fl.StringVar(&opts.benchtime, "benchtime", "1s", "go test -benchtime of each benchmark")
	fl.IntVar(&opts.runs, "runs", 5, "cold starts of each function")
	fl.IntVar(&opts.warmCalls, "warm", 3, "warm calls after each cold start")
	fl.StringVar(&opts.out, "out", "", "where to write the report (default build/bench/report.md at the repository root)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if opts.runs < 1 || opts.warmCalls < 1 {
		fmt.Fprintln(stderr, "benchreport: -runs and -warm must be at least 1")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := samtemplate.FindRoot()
	if err != nil {
		fmt.Fprintln(stderr, "benchreport:", err)
		return 1
	}
	if opts.out == "" {
		opts.out = filepath.Join(root, "build", "bench", "report.md")
	}
	report := &Report{Machine: machine(), BenchTime: opts.benchtime}
	problem := func(err error) {
		fmt.Fprintln(stderr, "benchreport:", err)
		report.Problems = append(report.Problems, err.Error())
	}

	if opts.benchmarks {
		fmt.Fprintln(stderr, "[bench] hot-path benchmarks…")
		module, err := modulePath(root)
		if err == nil {
			report.Benches, err = runBenchmarks(ctx, root, module, opts.benchtime, stderr)
		}
		if err != nil {
			problem(err)
		}
	}
	if opts.coldStarts && ctx.Err() == nil {
		if report.Cold, err = coldStarts(ctx, root, opts, stderr); err != nil {
			problem(err)
		}
	}

	report.Machine.LoadAfter = loadAverage()
	md := report.Markdown()
	if err := os.MkdirAll(filepath.Dir(opts.out), 0o755); err != nil {
		problem(err)
	} else if err := os.WriteFile(opts.out, []byte(md), 0o644); err != nil {
		problem(err)
	}
	fmt.Fprint(stdout, "\n"+md)
	fmt.Fprintf(stderr, "\n[bench] report written to %s\n", opts.out)
	if len(report.Problems) > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

// coldStarts builds every function (and the hello-world and SDK-floor baselines) for the host and for
// linux/arm64, stands up the local AWS emulator, and measures each function's cold starts.
func coldStarts(ctx context.Context, root string, opts options, progress io.Writer) ([]ColdStart, error) {
	tmplPath := filepath.Join(root, "template.yaml")
	plain, err := samtemplate.Load(tmplPath, samtemplate.Options{})
	if err != nil {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(plain.Functions))
	if len(ids) == 0 {
		return nil, errors.New("the template has no functions")
	}
	fns := make([]*samtemplate.Function, 0, len(ids)+1)
	for _, id := range ids {
		fns = append(fns, plain.Functions[id])
	}
	hello := baselineFunction(root, "HelloWorld", "hello", fns[0])
	floor := baselineFunction(root, "SDKFloor", "sdkfloor", fns[0])
	fns = append(fns, hello, floor)

	outDir := filepath.Join(root, "build", "bench")
	hostDir, armDir := filepath.Join(outDir, "host"), filepath.Join(outDir, "arm64")
	start := time.Now()
	fmt.Fprintf(progress, "[bench] building %d bootstraps for %s/%s and linux/arm64, and the runtime interface emulator…\n",
		len(fns), runtime.GOOS, runtime.GOARCH)
	rie, err := lambdas.BuildEmulator(ctx, root, outDir)
	if err != nil {
		return nil, err
	}
	if err := lambdas.Build(ctx, root, hostDir, fns, runtime.NumCPU()); err != nil {
		return nil, err
	}
	if err := lambdas.BuildFor(ctx, root, armDir, fns, runtime.NumCPU(), "linux", "arm64"); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "[bench] built in %s\n", time.Since(start).Round(100*time.Millisecond))

	emu, err := emulator.Start(ctx, root)
	if err != nil {
		return nil, err
	}
	defer emu.Stop()
	awsCfg, err := emu.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("emulator config: %w", err)
	}
	tmpl, err := samtemplate.Open(tmplPath)
	if err != nil {
		return nil, err
	}
	// Connections the emulator closes are not worth a warning amid the report's progress.
	awsCfg.Logger = logging.Nop{}
	side := &awsSide{cfg: awsCfg, tmpl: tmpl, endpoint: emu.Endpoint}

	var errs []error
	var subjects []subject
	for _, id := range ids {
		f := plain.Functions[id]
		s := subject{fn: f, answer: httpAnswer,
			calls: func(ctx context.Context, n int) (map[string]string, [][]byte, error) {
				return calls(ctx, side, plain, f, n)
			}}
		for _, a := range plain.LambdaAuthorizers {
			if a.Function == id {
				s.authorizer, s.answer = true, authorizerAnswer
			}
		}
		subjects = append(subjects, s)
	}
	greet := func(_ context.Context, n int) (map[string]string, [][]byte, error) {
		return nil, slices.Repeat([][]byte{[]byte(`{}`)}, n), nil
	}
	greeting := func(b []byte) string { return strings.Trim(string(b), `"`) }
	subjects = append(subjects,
		subject{fn: hello, baseline: true, calls: greet, answer: greeting},
		subject{fn: floor, floor: true, calls: greet, answer: greeting})

	cb := &coldBench{rie: rie, hostDir: hostDir, runs: opts.runs, warmCalls: opts.warmCalls, progress: progress}
	fmt.Fprintf(progress, "[bench] %d cold starts of each of %d functions…\n", opts.runs, len(subjects))
	out, err := cb.measureAll(ctx, subjects)
	errs = append(errs, err)
	for i := range out {
		if out[i].SizeARM64, err = fileSize(armDir, out[i].Function); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// machine describes this machine.
func machine() Machine {
	m := Machine{
		CPU: runtime.GOARCH, Cores: runtime.NumCPU(), Go: runtime.Version(),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH, Date: time.Now(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if cpu := cpuModel(string(b)); cpu != "" {
			m.CPU = cpu
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.Memory = memTotal(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadBefore = loadAverage()
	return m
}

// loadAverage returns the one-minute load average, "" when unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// cpuModel returns the processor's name from /proc/cpuinfo: "model name" on x86, "Model" or
// "Hardware" on some ARM kernels.
func cpuModel(cpuinfo string) string {
	for _, key := range []string{"model name", "Model", "Hardware", "cpu model"} {
		sc := bufio.NewScanner(strings.NewReader(cpuinfo))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == key && strings.TrimSpace(v) != "" {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

// memTotal returns MemTotal from /proc/meminfo, in bytes.
func memTotal(meminfo string) int64 {
	sc := bufio.NewScanner(strings.NewReader(meminfo))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// modulePath reads the module path from root's go.mod.
func modulePath(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`), nil
		}
	}
	return "", errors.New("go.mod names no module")
}
