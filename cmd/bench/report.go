package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The targets make bench checks; the report marks each pass or FAIL.
const (
	warmCheckMaxNs     = 2000
	warmCheckMaxAllocs = 10
	arm64MaxBytes      = 12 << 20
)

// warmCheck names the benchmark the warm-check targets apply to.
var warmCheck = benchID{Package: "shared/authorizer", Name: "CheckWarm"}

// Machine says where the figures were taken.
type Machine struct {
	CPU    string
	Cores  int
	Memory int64 // bytes, 0 when unknown
	Go     string
	OSArch string
	Kernel string
	Date   time.Time
	// LoadBefore and LoadAfter are the one-minute load averages when the measuring began and
	// ended: other work on the machine makes the cold starts slower and noisier.
	LoadBefore, LoadAfter string
}

type benchID struct {
	Package string // module-relative, e.g. shared/authorizer
	Name    string // without the Benchmark prefix and the -GOMAXPROCS suffix
}

// busy reports whether more was running than the machine has cores, at the start or the end.
func (m Machine) busy() bool {
	for _, l := range []string{m.LoadBefore, m.LoadAfter} {
		if v, err := strconv.ParseFloat(l, 64); err == nil && m.Cores > 0 && v > float64(m.Cores) {
			return true
		}
	}
	return false
}

// Bench is one result line of go test -bench -benchmem.
type Bench struct {
	benchID
	N           int64
	NsPerOp     float64
	BytesPerOp  int64 // -1 when not reported
	AllocsPerOp int64 // -1 when not reported
}

// ColdStart is what the cold starts of one function measured: medians over Runs.
type ColdStart struct {
	Function string
	// Baseline marks the hello-world function the others are compared with.
	Baseline bool
	// Floor marks hello world with the AWS SDK clients built: the least a function of the
	// service can take, shown beside the target's baseline.
	Floor bool
	// Authorizer marks the key authorizer, which the init target applies to.
	Authorizer bool
	Runs       int
	// RIEInit is the "Init Duration" of the emulator's REPORT line.
	RIEInit time.Duration
	// Init is the emulator's INIT REPORT: from starting the bootstrap until it first asks the
	// runtime API for an event.
	Init time.Duration
	// InitMin is the shortest init of the runs: the least disturbed by other work.
	InitMin time.Duration
	// FirstCall and WarmCall are the wall times of an invocation through the emulator: the
	// first one of a fresh execution environment (init included) and the later ones.
	FirstCall time.Duration
	WarmCall  time.Duration
	// RSS and HWM are the bootstrap's VmRSS and VmHWM right after its first call, in bytes.
	RSS, HWM int64
	// PackageInit is the time the Go packages' init took before main (GODEBUG=inittrace=1),
	// and SlowestPackages the three packages that took longest.
	PackageInit     time.Duration
	SlowestPackages []PackageInit
	// SizeARM64 is the size of the linux/arm64 bootstrap, the one Lambda runs.
	SizeARM64 int64
	// Answer is how the first call ended, e.g. "201" or "allowed".
	Answer string
}

// PackageInit is the init time of one Go package.
type PackageInit struct {
	Package  string
	Duration time.Duration
}

// Report is everything make bench prints.
type Report struct {
	Machine   Machine
	BenchTime string
	Benches   []Bench
	Cold      []ColdStart
	// Costs is what each action consumes and costs.
	Costs []Cost
	// InitTrial is the init target's measurement; nil when it did not run.
	InitTrial *InitTrial
	// Meter is the meter's runs across instances; nil when they did not run.
	Meter []MeterRun
	// Webhooks are the webhook targets' measurements; nil when they did not run.
	Webhooks *WebhookFigures
	// Problems lists what could not be measured.
	Problems []string
}

// Target is one of the targets above and how the figures meet it.
type Target struct {
	Name     string
	Measured string
	Pass     bool
	// Reviewed marks a target that is met or not by what the code does, not by a figure.
	Reviewed bool
	// Unsure marks a target the medians and the shortest runs disagree on: other work on the
	// machine swayed the figures too much to tell.
	Unsure bool
}

// Targets checks the figures against the targets above. A figure that is missing fails.
func (r *Report) Targets() []Target {
	const (
		warmTime   = "authorizer warm check ≤ 2 µs"
		warmAllocs = "authorizer warm check ≤ 10 allocations"
		authInit   = "authorizer init ≤ SDK floor's + 0.5 ms"
		arm64Size  = "every arm64 bootstrap ≤ 12 MB"
	)
	missing := func(name string) Target { return Target{Name: name, Measured: "not measured"} }
	var out []Target
	if b, ok := r.bench(warmCheck); ok {
		out = append(out,
			Target{Name: warmTime, Measured: formatNs(b.NsPerOp), Pass: b.NsPerOp <= warmCheckMaxNs},
			Target{Name: warmAllocs, Measured: fmt.Sprint(b.AllocsPerOp), Pass: b.AllocsPerOp >= 0 && b.AllocsPerOp <= warmCheckMaxAllocs})
	} else {
		out = append(out, missing(warmTime), missing(warmAllocs))
	}

	if r.InitTrial == nil {
		out = append(out, missing(authInit))
	} else {
		out = append(out, r.InitTrial.target(authInit))
	}
	out = append(out, Target{Name: "nothing in init that could wait", Measured: "see What init does, below", Reviewed: true})

	var largest *ColdStart
	measured := len(r.Cold) > 0
	for i, c := range r.Cold {
		if c.Baseline || c.Floor {
			continue
		}
		if c.SizeARM64 <= 0 {
			measured = false
			continue
		}
		if largest == nil || c.SizeARM64 > largest.SizeARM64 {
			largest = &r.Cold[i]
		}
	}
	if largest == nil || !measured {
		out = append(out, missing(arm64Size))
	} else {
		out = append(out, Target{Name: arm64Size,
			Measured: fmt.Sprintf("largest %s (%s)", formatMB(largest.SizeARM64), largest.Function), Pass: largest.SizeARM64 <= arm64MaxBytes})
	}
	return append(out, r.Webhooks.targets()...)
}

func (r *Report) bench(id benchID) (Bench, bool) {
	for _, b := range r.Benches {
		if b.benchID == id {
			return b, true
		}
	}
	return Bench{}, false
}

func (r *Report) cold(match func(ColdStart) bool) *ColdStart {
	for i := range r.Cold {
		if match(r.Cold[i]) {
			return &r.Cold[i]
		}
	}
	return nil
}

// writer writes a formatted part of the report.
type writer = func(format string, args ...any)

// reportSections are the report's sections, in order. A section is a method of Report in a file
// of its own, named here.
var reportSections = []func(*Report, writer){
	(*Report).title,
	(*Report).machineTable,
	(*Report).targetsTable,
	(*Report).hotPaths,
	(*Report).costTable,
	(*Report).meterTable,
	(*Report).webhookSection,
	(*Report).coldStarts,
	(*Report).initWork,
	(*Report).notMeasured,
}

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	for _, section := range reportSections {
		section(r, w)
	}
	return b.String()
}

// title is the report's heading and when it was written.
func (r *Report) title(w writer) {
	w("# Speed and cost\n\n")
	w("Written by `make bench` on %s.\n\n", r.Machine.Date.UTC().Format("2006-01-02 15:04 MST"))
}

// machineTable describes the machine the figures come from.
func (r *Report) machineTable(w writer) {
	m := r.Machine
	w("## Machine\n\n")
	w("| | |\n|---|---|\n")
	w("| CPU | %s, %d cores |\n", cell(m.CPU), m.Cores)
	if m.Memory > 0 {
		w("| memory | %.0f GiB |\n", float64(m.Memory)/(1<<30))
	}
	w("| Go | %s |\n", cell(m.Go))
	w("| OS/arch | %s, kernel %s |\n", cell(m.OSArch), cell(m.Kernel))
	if m.LoadBefore != "" {
		w("| load average (1 min) | %s at the start, %s at the end |\n", cell(m.LoadBefore), cell(m.LoadAfter))
	}
	w("\n")
}

// targetsTable marks each target pass, FAIL, unsure or reviewed, and says how the init target is judged.
func (r *Report) targetsTable(w writer) {
	m := r.Machine
	w("## Targets\n\n")
	unsure := false
	w("| target | measured | |\n|---|---|---|\n")
	for _, t := range r.Targets() {
		mark := "pass"
		switch {
		case t.Reviewed:
			mark = "reviewed"
		case t.Unsure:
			mark = "**unsure**"
			unsure = true
		case !t.Pass:
			mark = "**FAIL**"
		}
		w("| %s | %s | %s |\n", t.Name, cell(t.Measured), mark)
	}
	w("\nThe init target uses the real init (bootstrap start until its first request for an event), ")
	w("not the emulator's *Init Duration*: see how it was measured below. The key authorizer, the SDK floor ")
	w("(hello world with the DynamoDB and Secrets Manager clients built) and hello world start in turn, ")
	w("each going first in a round as often as the others, at least %d times each; the target is judged ", minTrialStarts)
	w("on the medians, and *paired* is the median of each ")
	w("authorizer start less the floor start beside it")
	if unsure {
		w("; **unsure** means the paired differences or the shortest starts, the least disturbed by other work, say otherwise")
	}
	w(".")
	if m.busy() {
		w(" The machine was busy while measuring (load average %s, then %s, on %d cores): the ", m.LoadBefore, m.LoadAfter, m.Cores)
		w("cold starts waited for the processor, and their medians say more about the load than about the functions.")
	}
	w("\n\n")
}

// hotPaths lists the Go benchmarks of the hot paths.
func (r *Report) hotPaths(w writer) {
	w("## Hot paths\n\n")
	w("`go test -bench -benchmem -benchtime %s`. The handler benchmarks and the uncached check ", r.BenchTime)
	w("include one round trip to the local AWS emulator per AWS call, over loopback HTTP.\n\n")
	w("| benchmark | package | ns/op | time/op | B/op | allocs/op |\n|---|---|--:|--:|--:|--:|\n")
	for _, bm := range r.Benches {
		w("| %s | %s | %s | %s | %s | %s |\n", bm.Name, bm.Package, formatFloat(bm.NsPerOp),
			formatDuration(time.Duration(bm.NsPerOp)), optional(bm.BytesPerOp), optional(bm.AllocsPerOp))
	}
	if len(r.Benches) == 0 {
		w("| (none ran) | | | | | |\n")
	}
}

// coldStarts tabulates every function's cold starts.
func (r *Report) coldStarts(w writer) {
	w("\n## Cold starts\n\n")
	runs := 0
	for _, c := range r.Cold {
		runs = max(runs, c.Runs)
	}
	w("Each function started %d times under the Runtime Interface Emulator (host build, same flags as ", runs)
	w("the arm64 one), every time with a table and a secret of its own in the local AWS emulator, ")
	w("provisioned as `make run` does; medians.\n\n")
	w("| function | RIE Init Duration | init (min) | package init | first call | warm call | first − warm | RSS after first call | peak RSS | arm64 bootstrap | first call answered |\n")
	w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, c := range r.Cold {
		name := c.Function
		switch {
		case c.Baseline:
			name += " (baseline)"
		case c.Floor:
			name += " (hello world + SDK clients)"
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name,
			formatMs(c.RIEInit), withMin(c.Init, c.InitMin), formatMs(c.PackageInit), formatMs(c.FirstCall), formatMs(c.WarmCall),
			formatMs(c.FirstCall-c.WarmCall), formatMB(c.RSS), formatMB(c.HWM), formatMB(c.SizeARM64), cell(c.Answer))
	}
	w("\n%s\n", howMeasured)
}

// initWork says what init does and how the key authorizer's compares with the baselines.
func (r *Report) initWork(w writer) {
	w("\n### What init does, and what could wait\n\n%s\n", initWork)
	auth, hello := r.cold(func(c ColdStart) bool { return c.Authorizer }), r.cold(func(c ColdStart) bool { return c.Baseline })
	if auth != nil && hello != nil {
		w("\nHere the Go packages' init took %s of the key authorizer's %s init, against %s of %s for hello world.",
			formatMs(auth.PackageInit), formatMs(auth.Init), formatMs(hello.PackageInit), formatMs(hello.Init))
		if len(auth.SlowestPackages) > 0 {
			var names []string
			for _, p := range auth.SlowestPackages {
				names = append(names, fmt.Sprintf("%s (%s)", p.Package, formatMs(p.Duration)))
			}
			w(" The authorizer's slowest packages: %s.", strings.Join(names, ", "))
		}
		if floor := r.cold(func(c ColdStart) bool { return c.Floor }); floor != nil && floor.Init > 0 {
			w(" Hello world that only builds a DynamoDB and a Secrets Manager client (SDKFloor) takes %s to init, %s of it in package init: %.2f × hello world's, before any code of this service runs; the key authorizer's init differs from it by %s in these %d starts (the init trial above, with more starts in turn, is what the target is judged on).",
				formatMs(floor.Init), formatMs(floor.PackageInit), float64(floor.Init)/float64(hello.Init), formatSignedMs(auth.Init-floor.Init), floor.Runs)
		}
		w("\n")
	}
	w("\n%s\n", initVerdict)
}

// notMeasured lists what could not be measured, if anything.
func (r *Report) notMeasured(w writer) {
	if len(r.Problems) > 0 {
		w("\n## Not measured\n\n")
		for _, p := range r.Problems {
			w("- %s\n", cell(p))
		}
	}
}

// costTable renders what each action costs per million calls.
func (r *Report) costTable(w writer) {
	w("\n## Cost per million calls\n\n")
	w("On-demand prices of US East (N. Virginia) as of %s (cmd/bench/prices.go names the pages). ", pricesAsOf)
	w("Each action ran in its function's built bootstrap under the Runtime Interface Emulator, in an execution environment ")
	w("of its own, on a table of its own, its AWS calls metered on their way to the local emulator; a route's row is named ")
	w("by its route key. The figures are the last, warm call's. DynamoDB request units are computed from the items' sizes as DynamoDB bills ")
	w("them (reads per 4 KB, half when eventually consistent; writes per 1 KB of the larger of the item before and after; ")
	w("transactions twice, a condition check as a write): moto answers ReturnConsumedCapacity with fixed figures. ")
	w("Lambda is Arm at the function's memory for the call's Duration as the Runtime Interface Emulator reports it, rounded up to the millisecond; the emulator ")
	w("answers far slower than DynamoDB, so that part is an upper bound. A check is part of the request it authorizes, ")
	w("so it has no HTTP API price of its own, and with the gateway's result cache most requests make no check at all.\n\n")
	w("| action | function (memory) | read units | write units | Secrets Manager calls (first call) | duration | DynamoDB $ | Secrets Manager $ | Lambda $ | HTTP API $ | total $ |\n")
	w("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range r.Costs {
		dynamo, secrets, lambda, gateway := c.PerMillion()
		gw := "–"
		if c.Gateway {
			gw = formatDollars(gateway)
		}
		w("| %s | %s (%d MB) | %s | %s | %d (%d) | %s | %s | %s | %s | %s | %s |\n", c.Action, c.Function, c.MemoryMB,
			formatUnits(c.ReadUnits), formatUnits(c.WriteUnits), c.SecretsCalls, c.FirstSecretsCalls, formatMs(c.Duration),
			formatDollars(dynamo), formatDollars(secrets), formatDollars(lambda), gw, formatDollars(dynamo+secrets+lambda+gateway))
	}
	if len(r.Costs) == 0 {
		w("| (not measured) | | | | | | | | | | |\n")
	}
	w("\nThe first call of an execution environment that needs the key ring fetches it (the figure in brackets), ")
	w("and again every 5 minutes: per environment, not per call.\n")
}

func formatUnits(u float64) string { return strconv.FormatFloat(u, 'f', -1, 64) }

func formatDollars(d float64) string { return "$" + strconv.FormatFloat(d, 'f', 2, 64) }

// howMeasured explains the cold-start columns.
const howMeasured = `- **RIE Init Duration** is the figure of the emulator's REPORT line. It is not a cold start:
  the emulator times only its call that hands the init request to a goroutine of its own,
  which returns before the bootstrap has even started (internal/lambda/rie/handlers.go: InitHandler
  times sandbox.Init; rapidcore's SandboxContext.Init starts HandleInit with go and returns). The
  wait for init happens later, inside the first invocation, and counts in that one's Duration.
- **init** is the emulator's own INIT REPORT line (printed at log level info): from just before it
  starts the bootstrap until the bootstrap first asks the runtime API for an event, which is what
  Lambda reports as Init Duration. It covers the process start, the Go runtime, every package's
  init, and main up to lambda.Start. The median comes first, the shortest run in brackets.
- **package init** is the part of it the Go packages' init functions take before main runs
  (the sum of what GODEBUG=inittrace=1 prints, from one more start of the bootstrap per run).
- **first call** is the wall time of the first invocation, from sending it to the emulator to its
  answer: init, the first handler run (with its first AWS calls: new connections, the key ring
  fetch) and the emulator's own overhead. **warm call** is the same for the later invocations of
  the same environment; **first − warm** is how much longer the first caller waits. Each call
  acts on a token of its own, made beforehand, so a delete or a suspension is a real one every
  time; the AWS side is the local emulator, whose transactions are far slower than DynamoDB's.
- **RSS after first call** and **peak RSS** are VmRSS and VmHWM of the bootstrap process
  (/proc/<pid>/status) right after its first call.
- Sizes are in MB of 2^20 bytes.`

// initWork says what every function does before lambda.Start.
const initWork = `Every function's main calls service.FromEnv and hands its handler to lambda.Start; the key
authorizer also builds its in-memory cache (authorizer.New, empty). FromEnv reads the
configuration from the environment, builds the AWS configuration from the variables Lambda sets
(region, the execution role's credentials, the optional endpoint override; no files, no network
call) and builds the DynamoDB and Secrets Manager clients, which call nothing either. The key ring is not fetched in
init: keyring.Source fetches it on first use, so the functions that never need it never call
Secrets Manager. So main waits on nothing.`

// initVerdict says what could be deferred.
const initVerdict = `Nothing in main could usefully wait: it reads, builds and calls nothing that the calls do not
need, and waits on nothing. The one thing not every function needs, the Secrets Manager client of
the functions without the key ring, costs microseconds to build and is linked in any case
through package service. What the key authorizer's init has beyond hello world's is the cost of
a larger program: the AWS SDK's package initialisation (chiefly the DynamoDB client's generated
schemas and endpoint table, then the Secrets Manager client's), which runs before main and cannot
be deferred by this code, and loading and starting a larger binary. FromEnv no longer uses
config.LoadDefaultConfig, whose credential providers linked in the STS, SSO and sign-in clients
and about as much package initialisation again; only dropping the SDK clients themselves would
shorten it further. Against the SDK floor, GODEBUG=inittrace=1 shows one package init
more in the key authorizer: the DynamoDB Streams schemas (service/dynamodbstreams/schemas, about
0.1 ms, 52 kB in 287 allocations), which feature/dynamodb/attributevalue links for its stream
conversions; attributevalue itself and shared/apikey initialise nothing measurable, and no other
package of this service has an init.
Only decoding items without attributevalue in the table model would drop it.`

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func optional(n int64) string {
	if n < 0 {
		return "–"
	}
	return fmt.Sprint(n)
}

func formatFloat(f float64) string {
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.2f", f)
	}
}

func formatNs(ns float64) string {
	if ns < 1000 {
		return fmt.Sprintf("%.0f ns", ns)
	}
	return fmt.Sprintf("%.2f µs", ns/1000)
}

// formatDuration renders a time per operation in the unit that suits it.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func withMin(median, least time.Duration) string {
	if least <= 0 {
		return formatMs(median)
	}
	return fmt.Sprintf("%s (%s)", formatMs(median), formatMs(least))
}

func formatMs(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	ms := float64(d) / float64(time.Millisecond)
	if ms < 1 && ms > -1 {
		return fmt.Sprintf("%.2f ms", ms)
	}
	return fmt.Sprintf("%.1f ms", ms)
}

// formatSignedMs is formatMs with a sign, for a difference.
func formatSignedMs(d time.Duration) string {
	switch {
	case d == 0:
		return "0 ms"
	case d < 0:
		return "−" + formatMs(-d)
	}
	return "+" + formatMs(d)
}

func formatMB(n int64) string {
	if n <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// median returns the median of xs, 0 for none.
func median[T int64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
