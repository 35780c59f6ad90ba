// Command bench measures the service's speed and cost and writes them up in Markdown
// (`make bench`): the Go benchmarks of the hot paths with their allocations; every template
// function's cold start under the AWS Lambda Runtime Interface Emulator, next to a hello-world
// function built with the same flags; each bootstrap's resident memory after its first call and
// the size of its linux/arm64 build; the webhook sender's delivery figures through the local
// run's pieces; and the targets the report checks, marked pass or FAIL.
//
// Usage:
//
//	bench [-benchtime 1s] [-runs 5] [-warm 3] [-out build/bench/report.md]
//	      [-benchmarks=false] [-coldstarts=false] [-webhooks=false]
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

	"github.com/apitokens/apitokens/cmd/internal/lambdas"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	benchmarks, coldStarts, meter, webhooks bool
	benchtime                               string
	runs                                    int
	warmCalls                               int
	out                                     string
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var opts options
	fl.BoolVar(&opts.benchmarks, "benchmarks", true, "run the hot-path benchmarks")
	fl.BoolVar(&opts.coldStarts, "coldstarts", true, "measure the cold starts")
	fl.BoolVar(&opts.meter, "meter", true, "run the meter across instances (accuracy and writes per call)")
	fl.BoolVar(&opts.webhooks, "webhooks", true, "measure the webhook targets through the local run's sender")
	fl.StringVar(&opts.benchtime, "benchtime", "1s", "go test -benchtime of each benchmark")
	fl.IntVar(&opts.runs, "runs", minTrialStarts, "cold starts of each function, and of each subject of the init trial (at least 21 there)")
	fl.IntVar(&opts.warmCalls, "warm", 3, "warm calls after each cold start")
	fl.StringVar(&opts.out, "out", "", "where to write the report (default build/bench/report.md at the repository root)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if opts.runs < 1 || opts.warmCalls < 1 {
		fmt.Fprintln(stderr, "bench: -runs and -warm must be at least 1")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := samtemplate.FindRoot()
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if opts.out == "" {
		opts.out = filepath.Join(root, "build", "bench", "report.md")
	}
	report := &Report{Machine: machine(), BenchTime: opts.benchtime}
	problem := func(err error) {
		fmt.Fprintln(stderr, "bench:", err)
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
		if err := coldStarts(ctx, root, opts, stderr, report); err != nil {
			problem(err)
		}
	}

	if opts.meter && ctx.Err() == nil {
		if err := meterFigures(ctx, root, stderr, report); err != nil {
			problem(err)
		}
	}

	if opts.webhooks && ctx.Err() == nil {
		var err error
		if report.Webhooks, err = measureWebhooks(ctx, root, stderr); err != nil {
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
// linux/arm64, stands up the local AWS emulator, measures what each action costs, each function's
// cold starts, then runs the init trial of the key authorizer against the SDK floor, into report.
func coldStarts(ctx context.Context, root string, opts options, progress io.Writer, report *Report) error {
	tmplPath := filepath.Join(root, "template.yaml")
	plain, err := samtemplate.Load(tmplPath, samtemplate.Options{})
	if err != nil {
		return err
	}
	ids := slices.Sorted(maps.Keys(plain.Functions))
	if len(ids) == 0 {
		return errors.New("the template has no functions")
	}
	hello := baselineFunction(root, "HelloWorld", "hello", plain.Functions[ids[0]])
	floor := baselineFunction(root, "SDKFloor", "sdkfloor", plain.Functions[ids[0]])
	b, err := buildBootstraps(ctx, root, plain, ids, progress, hello, floor)
	if err != nil {
		return err
	}
	side, stop, err := startSide(ctx, root, tmplPath)
	if err != nil {
		return err
	}
	defer stop()

	var errs []error
	report.Costs, err = costs(ctx, side, plain, b, progress)
	errs = append(errs, err)
	subjects := subjectsOf(side, plain, ids, hello, floor)
	cb := &coldBench{rie: b.rie, hostDir: b.hostDir, runs: opts.runs, warmCalls: opts.warmCalls, progress: progress}
	fmt.Fprintf(progress, "[bench] %d cold starts of each of %d functions…\n", opts.runs, len(subjects))
	out, err := cb.measureAll(ctx, subjects)
	errs = append(errs, err)
	for i := range out {
		if out[i].SizeARM64, err = fileSize(b.armDir, out[i].Function); err != nil {
			errs = append(errs, err)
		}
	}
	report.Cold = out
	report.InitTrial, err = initTrial(ctx, cb, subjects, max(trialStarts, opts.runs))
	return errors.Join(append(errs, err)...)
}

// bootstraps says where buildBootstraps put the binaries.
type bootstraps struct{ rie, hostDir, armDir string }

// buildBootstraps builds the template's functions and the baselines for this machine and for
// linux/arm64, and the runtime interface emulator.
func buildBootstraps(ctx context.Context, root string, plain *samtemplate.App, ids []string, progress io.Writer, baselines ...*samtemplate.Function) (bootstraps, error) {
	fns := make([]*samtemplate.Function, 0, len(ids)+len(baselines))
	for _, id := range ids {
		fns = append(fns, plain.Functions[id])
	}
	fns = append(fns, baselines...)
	outDir := filepath.Join(root, "build", "bench")
	b := bootstraps{hostDir: filepath.Join(outDir, "host"), armDir: filepath.Join(outDir, "arm64")}
	start := time.Now()
	fmt.Fprintf(progress, "[bench] building %d bootstraps for %s/%s and linux/arm64, and the runtime interface emulator…\n",
		len(fns), runtime.GOOS, runtime.GOARCH)
	var err error
	if b.rie, err = lambdas.BuildEmulator(ctx, root, outDir); err != nil {
		return b, err
	}
	if err := lambdas.Build(ctx, root, b.hostDir, fns, runtime.NumCPU()); err != nil {
		return b, err
	}
	if err := lambdas.BuildFor(ctx, root, b.armDir, fns, runtime.NumCPU(), "linux", "arm64"); err != nil {
		return b, err
	}
	fmt.Fprintf(progress, "[bench] built in %s\n", time.Since(start).Round(100*time.Millisecond))
	return b, nil
}

// startSide starts the local AWS emulator for the measurements; stop ends it.
func startSide(ctx context.Context, root, tmplPath string) (side *awsSide, stop func(), err error) {
	emu, err := emulator.Start(ctx, root)
	if err != nil {
		return nil, nil, err
	}
	awsCfg, err := emu.Config(ctx)
	if err == nil {
		var tmpl *samtemplate.Template
		if tmpl, err = samtemplate.Open(tmplPath); err == nil {
			// Connections the emulator closes are not worth a warning amid the report's progress.
			awsCfg.Logger = logging.Nop{}
			var scan *scanner
			if scan, err = newScanner(); err == nil {
				return &awsSide{cfg: awsCfg, tmpl: tmpl, endpoint: emu.Endpoint, scan: scan},
					func() { scan.Close(); emu.Stop() }, nil
			}
		}
	}
	emu.Stop()
	return nil, nil, fmt.Errorf("emulator: %w", err)
}

// subjectsOf returns the cold-start subjects: every function of the template, then hello world
// and the SDK floor.
func subjectsOf(side *awsSide, plain *samtemplate.App, ids []string, hello, floor *samtemplate.Function) []subject {
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
	return append(subjects,
		subject{fn: hello, baseline: true, calls: greet, answer: greeting},
		subject{fn: floor, floor: true, calls: greet, answer: greeting})
}

// initTrial runs the init trial on the key authorizer, the SDK floor and hello world among
// subjects.
func initTrial(ctx context.Context, cb *coldBench, subjects []subject, n int) (*InitTrial, error) {
	find := func(match func(subject) bool) (subject, bool) {
		i := slices.IndexFunc(subjects, match)
		if i < 0 {
			return subject{}, false
		}
		return subjects[i], true
	}
	auth, ok1 := find(func(s subject) bool { return s.authorizer })
	floor, ok2 := find(func(s subject) bool { return s.floor })
	hello, ok3 := find(func(s subject) bool { return s.baseline })
	if !ok1 || !ok2 || !ok3 || ctx.Err() != nil {
		return nil, errors.New("init trial: the key authorizer, the SDK floor or hello world is missing")
	}
	fmt.Fprintf(cb.progress, "[bench] init trial: key authorizer, SDK floor and hello world, %d starts each, in turn…\n", n)
	return cb.initTrial(ctx, auth, floor, hello, n)
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
