package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

const module = "github.com/apitokens/apitokens"

func TestParseBenchmarks(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/apitokens/apitokens/shared/authorizer
cpu: AMD EPYC
BenchmarkCheckWarm-2      	 1402142	       856.4 ns/op	     312 B/op	       7 allocs/op
BenchmarkCheckUncached-2  	     823	   1452311 ns/op	   61234 B/op	     702 allocs/op
PASS
ok  	github.com/apitokens/apitokens/shared/authorizer	4.311s
pkg: github.com/apitokens/apitokens/shared/handlers
BenchmarkCreate
    bench_test.go:20: a line the benchmark logged
BenchmarkCreate           	     100	  10234567 ns/op
BenchmarkReveal-16        	     250	   4000000 ns/op	   90000 B/op	    1100 allocs/op	        12.00 calls/op
ok  	github.com/apitokens/apitokens/shared/handlers	9.1s
`
	got, err := parseBenchmarks(out, module)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bench{
		{benchID: benchID{"shared/authorizer", "CheckWarm"}, N: 1402142, NsPerOp: 856.4, BytesPerOp: 312, AllocsPerOp: 7},
		{benchID: benchID{"shared/authorizer", "CheckUncached"}, N: 823, NsPerOp: 1452311, BytesPerOp: 61234, AllocsPerOp: 702},
		{benchID: benchID{"shared/handlers", "Create"}, N: 100, NsPerOp: 10234567, BytesPerOp: -1, AllocsPerOp: -1},
		{benchID: benchID{"shared/handlers", "Reveal"}, N: 250, NsPerOp: 4000000, BytesPerOp: 90000, AllocsPerOp: 1100},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseBenchmarksRejects(t *testing.T) {
	for _, tt := range []struct{ name, line string }{
		{"a value that is no number", "BenchmarkX-2 10 fast ns/op"},
		{"no ns/op", "BenchmarkX-2 10 12 B/op"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := parseBenchmarks(tt.line+"\n", module); err == nil {
				t.Errorf("got %+v, nil; want an error", got)
			}
		})
	}
}

func TestParseEmulatorLog(t *testing.T) {
	first := `27 Nov 2026 03:00:21,953 [INFO] (rapid) INIT START(type: on-demand, phase: init)
27 Nov 2026 03:00:21,960 [INFO] (rapid) INIT REPORT(durationMs: 7.897000)
START RequestId: 4b40 Version: $LATEST
END RequestId: 4b40
REPORT RequestId: 4b40	Init Duration: 0.38 ms	Duration: 9.84 ms	Billed Duration: 10 ms	Memory Size: 256 MB	Max Memory Used: 256 MB	
`
	for _, tt := range []struct {
		name          string
		log           string
		rieInit, init time.Duration
		ok            bool
	}{
		{"both lines", first, 380 * time.Microsecond, 7897 * time.Microsecond, true},
		{"no REPORT yet", strings.Split(first, "START RequestId")[0], 0, 7897 * time.Microsecond, false},
		{"warm call only", "REPORT RequestId: 9f\tDuration: 0.91 ms\tBilled Duration: 1 ms\n", 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rieInit, init, ok := parseEmulatorLog(tt.log)
			if ok != tt.ok || (tt.ok && (rieInit != tt.rieInit || init != tt.init)) {
				t.Errorf("got %v, %v, %v; want %v, %v, %v", rieInit, init, ok, tt.rieInit, tt.init, tt.ok)
			}
		})
	}
}

func TestParseProcStatus(t *testing.T) {
	status := "Name:\tbootstrap\nVmPeak:\t 1260128 kB\nVmHWM:\t   12544 kB\nVmRSS:\t   12288 kB\nThreads:\t5\n"
	rss, hwm, err := parseProcStatus(status)
	if err != nil || rss != 12288<<10 || hwm != 12544<<10 {
		t.Errorf("got %d, %d, %v; want %d, %d, nil", rss, hwm, err, 12288<<10, 12544<<10)
	}
	if _, _, err := parseProcStatus("Name:\tbootstrap\nVmRSS:\t   12288 kB\n"); err == nil {
		t.Error("got no error for a status without VmHWM, want one")
	}
	if _, _, err := parseProcStatus("VmRSS:\t   12288 MB\nVmHWM:\t   12544 kB\n"); err == nil {
		t.Error("got no error for a size not in kB, want one")
	}
}

func TestParseInitTrace(t *testing.T) {
	out := `init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
init github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas @2.5 ms, 0.77 ms clock, 586744 bytes, 3152 allocs
init github.com/apitokens/apitokens/shared/apikey @4.2 ms, 0.13 ms clock, 8672 bytes, 106 allocs
2026/11/27 03:01:47 expected AWS Lambda environment variables [AWS_LAMBDA_RUNTIME_API] are not defined
`
	got := parseInitTrace(out)
	want := map[string]time.Duration{
		"internal/bytealg": 0,
		"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas": 770 * time.Microsecond,
		"github.com/apitokens/apitokens/shared/apikey":          130 * time.Microsecond,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSummarize(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	s := subject{fn: &samtemplate.Function{LogicalID: "AuthorizerFunction"}, authorizer: true}
	samples := []sample{
		{rieInit: ms(0.02), init: ms(9), first: ms(30), warm: []time.Duration{ms(1), ms(2)}, rss: 12 << 20, hwm: 13 << 20, answer: "allowed",
			packageInit: map[string]time.Duration{"a": ms(1), "b": ms(0.5), "c": ms(0.2), "d": ms(0.1)}},
		{rieInit: ms(0.03), init: ms(6), first: ms(20), warm: []time.Duration{ms(3)}, rss: 11 << 20, hwm: 14 << 20, answer: "allowed",
			packageInit: map[string]time.Duration{"a": ms(3), "b": ms(0.5), "c": ms(0.4), "d": ms(0.1)}},
		{rieInit: ms(0.04), init: ms(7), first: ms(25), warm: []time.Duration{ms(4)}, rss: 10 << 20, hwm: 15 << 20, answer: "refused",
			packageInit: map[string]time.Duration{"a": ms(2), "b": ms(0.5), "c": ms(0.3), "d": ms(0.1)}},
	}
	got := summarize(s, samples)
	want := ColdStart{
		Function: "AuthorizerFunction", Authorizer: true, Runs: 3,
		RIEInit: ms(0.03), Init: ms(7), InitMin: ms(6), FirstCall: ms(25), WarmCall: ms(2.5),
		RSS: 11 << 20, HWM: 14 << 20, Answer: "allowed; refused",
		PackageInit:     ms(2.9),
		SlowestPackages: []PackageInit{{"a", ms(2)}, {"b", ms(0.5)}, {"c", ms(0.3)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{9, 1, 5, 3}, 4},
	} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMachineFiles(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	if got := cpuModel(cpuinfo); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q, want AMD EPYC 7B13", got)
	}
	arm := "processor\t: 0\nBogoMIPS\t: 243.75\nCPU part\t: 0xd0c\n\nHardware\t: Example SoC\n"
	if got := cpuModel(arm); got != "Example SoC" {
		t.Errorf("cpuModel(arm) = %q, want Example SoC", got)
	}
	if got := memTotal("MemTotal:       25165824 kB\nMemFree:  1 kB\n"); got != 24<<30 {
		t.Errorf("memTotal = %d, want %d", got, int64(24<<30))
	}
}

// passing is a report that meets every target.
func passing() *Report {
	return &Report{
		Machine:   Machine{CPU: "AMD EPYC", Cores: 2, Go: "go1.26.8", OSArch: "linux/amd64", Kernel: "6.1", LoadBefore: "0.42", LoadAfter: "1.50", Date: time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)},
		BenchTime: "1s",
		Benches: []Bench{
			{benchID: warmCheck, N: 1000000, NsPerOp: 856.4, BytesPerOp: 312, AllocsPerOp: 7},
			{benchID: benchID{"shared/handlers", "Create"}, N: 100, NsPerOp: 10234567, BytesPerOp: 90000, AllocsPerOp: 1100},
		},
		Cold: []ColdStart{
			{Function: "AuthorizerFunction", Authorizer: true, Runs: 5, RIEInit: 20 * time.Microsecond, Init: 4 * time.Millisecond,
				PackageInit: 2 * time.Millisecond, FirstCall: 30 * time.Millisecond, WarmCall: time.Millisecond,
				RSS: 12 << 20, HWM: 13 << 20, SizeARM64: 10 << 20, Answer: "allowed",
				SlowestPackages: []PackageInit{{"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas", 600 * time.Microsecond}}},
			{Function: "MeFunction", Runs: 5, Init: 5 * time.Millisecond, SizeARM64: 8 << 20, Answer: "200"},
			{Function: "HelloWorld", Baseline: true, Runs: 5, Init: 3 * time.Millisecond, PackageInit: 600 * time.Microsecond, SizeARM64: 6 << 20, Answer: "hello, world"},
			// Larger than any function, so that the size target shows it is left out.
			{Function: "SDKFloor", Floor: true, Runs: 5, Init: 5500 * time.Microsecond, PackageInit: 1500 * time.Microsecond, SizeARM64: 11 << 20, Answer: "hello, world"},
		},
		InitTrial: trial(
			[]float64{5.6, 5.9, 5.7, 6.1, 5.8, 5.5, 6.0},
			[]float64{5.5, 5.6, 5.4, 5.9, 5.7, 5.3, 5.8},
			[]float64{3.1, 3.0, 3.2, 2.9, 3.0, 3.1, 3.0}),
		Webhooks: &WebhookFigures{
			Latencies:   []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond, 120 * time.Millisecond},
			FlakyEvents: 20, FlakyDelivered: 20, FlakyRequests: 23, RefusedEvents: 20, RefusedAttempts: 20, Retry: "1",
		},
	}
}

// trial is an init trial of the given starts, in milliseconds.
func trial(auth, floor, hello []float64) *InitTrial {
	ds := func(xs []float64) (out []time.Duration) {
		for _, x := range xs {
			out = append(out, time.Duration(x*float64(time.Millisecond)))
		}
		return out
	}
	return &InitTrial{Authorizer: ds(auth), Floor: ds(floor), Hello: ds(hello)}
}

func TestTargets(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Report)
		// failing names the targets that must fail, with what they must show as measured.
		failing map[string]string
	}{
		{"all met", func(*Report) {}, nil},
		{"slow warm check", func(r *Report) { r.Benches[0].NsPerOp = 2500 },
			map[string]string{"authorizer warm check ≤ 2 µs": "2.50 µs"}},
		{"too many allocations", func(r *Report) { r.Benches[0].AllocsPerOp = 11 },
			map[string]string{"authorizer warm check ≤ 10 allocations": "11"}},
		{"no warm-check benchmark", func(r *Report) { r.Benches = r.Benches[1:] },
			map[string]string{"authorizer warm check ≤ 2 µs": "not measured", "authorizer warm check ≤ 10 allocations": "not measured"}},
		{"slow authorizer init, paired and shortest too", func(r *Report) {
			r.InitTrial.Authorizer = trial([]float64{6.2, 6.5, 6.3, 6.7, 6.4, 6.1, 6.6}, nil, nil).Authorizer
		}, map[string]string{authInitTarget: "6.4 ms vs 5.6 ms (+0.80 ms); paired +0.80 ms; shortest 6.1 ms vs 5.3 ms; hello world 3.0 ms; 7 starts each, in turn"}},
		{"fewer than 7 starts", func(r *Report) {
			r.InitTrial.Authorizer, r.InitTrial.Floor = r.InitTrial.Authorizer[:6], r.InitTrial.Floor[:6]
		}, map[string]string{authInitTarget: "6 starts each, want at least 7"}},
		{"no trial", func(r *Report) { r.InitTrial = nil },
			map[string]string{authInitTarget: "not measured"}},
		{"a large bootstrap", func(r *Report) { r.Cold[1].SizeARM64 = 12<<20 + 1 },
			map[string]string{"every arm64 bootstrap ≤ 12 MB": "largest 12.0 MB (MeFunction)"}},
		{"a size missing", func(r *Report) { r.Cold[1].SizeARM64 = 0 },
			map[string]string{"every arm64 bootstrap ≤ 12 MB": "not measured"}},
		{"slow webhooks", func(r *Report) { r.Webhooks.Latencies = append(r.Webhooks.Latencies, 2500*time.Millisecond) },
			map[string]string{webhookLatencyTarget: "p95 2500.0 ms (p50 150.0 ms, max 2500.0 ms) over 5 events"}},
		{"a lost event", func(r *Report) { r.Webhooks.FlakyDelivered = 19 },
			map[string]string{webhookLostTarget: "1 lost of 20 (23 requests, 3 failed; 0 retries with another webhook-id or body)"}},
		{"a retry with another webhook-id", func(r *Report) { r.Webhooks.FlakyMismatched = 1 },
			map[string]string{webhookLostTarget: "0 lost of 20 (23 requests, 3 failed; 1 retries with another webhook-id or body)"}},
		{"a delivery to a refused address", func(r *Report) { r.Webhooks.RefusedSent, r.Webhooks.RefusedAttempts = 1, 19 },
			map[string]string{webhookRefusedTarget: "1 sent of 20 events (19 attempts recorded refused)"}},
		{"no webhook figures", func(r *Report) { r.Webhooks = nil },
			map[string]string{webhookLatencyTarget: "not measured", webhookLostTarget: "not measured", webhookRefusedTarget: "not measured"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := passing()
			tt.change(r)
			targets := r.Targets()
			if len(targets) != 8 {
				t.Fatalf("got %d targets, want 8", len(targets))
			}
			for _, target := range targets {
				want, fails := tt.failing[target.Name]
				if target.Unsure {
					t.Errorf("target %q: got unsure, want a sure mark", target.Name)
				}
				switch {
				case target.Reviewed:
					if target.Name != "nothing in init that could wait" {
						t.Errorf("target %q: got reviewed, want a measured one", target.Name)
					}
				case fails && (target.Pass || target.Measured != want):
					t.Errorf("target %q: got pass=%v measured %q, want a FAIL with %q", target.Name, target.Pass, target.Measured, want)
				case !fails && !target.Pass:
					t.Errorf("target %q: got a FAIL (%s), want pass", target.Name, target.Measured)
				}
			}
		})
	}
}

const authInitTarget = "authorizer init ≤ SDK floor's + 0.5 ms"

func TestInitTrialUnsure(t *testing.T) {
	floor := []float64{5.5, 5.6, 5.4, 5.9, 5.7, 5.3, 5.8}
	for _, tt := range []struct {
		name                 string
		auth                 []float64
		wantPass, wantUnsure bool
	}{
		{"all agree it passes", []float64{5.6, 5.9, 5.7, 6.1, 5.8, 5.5, 6.0}, true, false},
		// The medians differ by 0.3 ms, but most starts by 0.6 ms from the floor start beside them.
		{"medians pass, paired fail", []float64{6.1, 6.2, 6.0, 5.9, 5.7, 5.9, 5.8}, true, true},
		{"medians fail, shortest pass", []float64{6.3, 6.4, 6.2, 6.6, 6.5, 5.6, 6.7}, false, true},
		{"all agree it fails", []float64{7.0, 7.1, 6.9, 7.4, 7.2, 6.8, 7.3}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := passing()
			r.InitTrial.Authorizer, r.InitTrial.Floor = trial(tt.auth, floor, nil).Authorizer, trial(floor, nil, nil).Authorizer
			got := r.Targets()[2]
			if got.Name != authInitTarget || got.Pass != tt.wantPass || got.Unsure != tt.wantUnsure {
				t.Errorf("got %q pass=%v unsure=%v (%s), want pass=%v unsure=%v", got.Name, got.Pass, got.Unsure, got.Measured, tt.wantPass, tt.wantUnsure)
			}
			md := r.Markdown()
			if tt.wantUnsure != strings.Contains(md, "| **unsure** |") {
				t.Errorf("report marks unsure: got %v, want %v", !tt.wantUnsure, tt.wantUnsure)
			}
		})
	}
}

func TestMarkdownBusyMachine(t *testing.T) {
	for _, tt := range []struct {
		name          string
		before, after string
		want          bool
	}{
		{"quiet", "0.42", "1.50", false},
		{"busy at the end", "0.42", "2.50", true},
		{"busy at the start", "7.10", "1.00", true},
		{"unknown", "", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := passing()
			r.Machine.LoadBefore, r.Machine.LoadAfter = tt.before, tt.after
			got := strings.Contains(r.Markdown(), "The machine was busy while measuring (load average "+tt.before+", then "+tt.after+", on 2 cores)")
			if got != tt.want {
				t.Errorf("busy warning: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMarkdown(t *testing.T) {
	r := passing()
	r.Cold[0].Init, r.Cold[0].InitMin = 6*time.Millisecond, 5100*time.Microsecond
	r.InitTrial.Authorizer = trial([]float64{6.2, 6.5, 6.3, 6.7, 6.4, 6.1, 6.6}, nil, nil).Authorizer
	r.Problems = []string{"function X | failed\nbadly"}
	md := r.Markdown()
	for _, want := range []string{
		"Written by `make bench` on 2026-11-27 03:00 UTC.",
		"| CPU | AMD EPYC, 2 cores |",
		"| OS/arch | linux/amd64, kernel 6.1 |",
		"| load average (1 min) | 0.42 at the start, 1.50 at the end |",
		"| authorizer warm check ≤ 2 µs | 856 ns | pass |",
		"| authorizer warm check ≤ 10 allocations | 7 | pass |",
		"| authorizer init ≤ SDK floor's + 0.5 ms | 6.4 ms vs 5.6 ms (+0.80 ms); paired +0.80 ms; shortest 6.1 ms vs 5.3 ms; hello world 3.0 ms; 7 starts each, in turn | **FAIL** |",
		"authorizer start less the floor start beside it.\n",
		"| nothing in init that could wait | see What init does, below | reviewed |",
		"| every arm64 bootstrap ≤ 12 MB | largest 10.0 MB (AuthorizerFunction) | pass |",
		"`go test -bench -benchmem -benchtime 1s`",
		"| CheckWarm | shared/authorizer | 856 | 856 ns | 312 | 7 |",
		"| Create | shared/handlers | 10234567 | 10.23 ms | 90000 | 1100 |",
		"Each function started 5 times",
		"| AuthorizerFunction | 0.02 ms | 6.0 ms (5.1 ms) | 2.0 ms | 30.0 ms | 1.0 ms | 29.0 ms | 12.0 MB | 13.0 MB | 10.0 MB | allowed |",
		"| MeFunction | – | 5.0 ms | – | – | – | – | – | – | 8.0 MB | 200 |",
		"| HelloWorld (baseline) | – | 3.0 ms | 0.60 ms |",
		"took 2.0 ms of the key authorizer's 6.0 ms init, against 0.60 ms of 3.0 ms for hello world",
		"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas (0.60 ms)",
		"| SDKFloor (hello world + SDK clients) | – | 5.5 ms | 1.5 ms |",
		"Hello world that only builds a DynamoDB and a Secrets Manager client (SDKFloor) takes 5.5 ms to init, 1.5 ms of it in package init: 1.83 × hello world's, before any code of this service runs; the key authorizer's init differs from it by +0.50 ms in these 5 starts (the init trial above, with more starts in turn, is what the target is judged on).",
		"| webhook, event to the subscriber's POST, p95 ≤ 2 s (local run) | p95 300.0 ms (p50 120.0 ms, max 300.0 ms) over 4 events | pass |",
		"A subscriber that failed its first 3 requests with 503 got 23 requests for 20 events and answered 20 of them with a success",
		"## Not measured\n\n- function X \\| failed badly\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
}
