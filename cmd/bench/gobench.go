package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// hotPaths are the benchmarks of the hot paths: the key check with a warm cache and uncached,
// the whole authorizer handler when warm, and the create, list-a-page and reveal routes.
var hotPaths = struct {
	packages []string
	pattern  string
}{
	packages: []string{"./shared/authorizer", "./shared/handlers"},
	pattern:  "^Benchmark(CheckWarm|CheckUncached|HandlerWarm|Create|ListPage|Reveal|EventToSubscriber)$",
}

// runBenchmarks runs the hot-path benchmarks in the module at root, echoing go test's output to
// progress, and returns their results.
func runBenchmarks(ctx context.Context, root, module, benchtime string, progress io.Writer) ([]Bench, error) {
	args := append([]string{"test", "-run", "^$", "-bench", hotPaths.pattern, "-benchmem", "-benchtime", benchtime}, hotPaths.packages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = os.Environ()
	var out strings.Builder
	cmd.Stdout = io.MultiWriter(&out, progress)
	cmd.Stderr = progress
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return parseBenchmarks(out.String(), module)
}

// parseBenchmarks reads go test -bench output: the "pkg:" lines that name each package, then
// one line per benchmark, such as
//
//	BenchmarkCheckWarm-2   1000000   912.3 ns/op   480 B/op   6 allocs/op
//
// Package paths are made relative to module.
func parseBenchmarks(out, module string) ([]Bench, error) {
	var benches []Bench
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(p), module), "/")
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's name alone, or its log output
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		b := Bench{benchID: benchID{Package: pkg, Name: name}, N: n, NsPerOp: -1, BytesPerOp: -1, AllocsPerOp: -1}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: value %q: %w", line, f[i], err)
			}
			switch f[i+1] {
			case "ns/op":
				b.NsPerOp = v
			case "B/op":
				b.BytesPerOp = int64(v)
			case "allocs/op":
				b.AllocsPerOp = int64(v)
			}
		}
		if b.NsPerOp < 0 {
			return nil, fmt.Errorf("benchmark line %q: no ns/op", line)
		}
		benches = append(benches, b)
	}
	return benches, sc.Err()
}
