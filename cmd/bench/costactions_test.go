package main

import (
	"context"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/apitokens/apitokens/cmd/internal/lambdas"
	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// TestCostActionsCoverTemplate holds the cost table to template.yaml: one row per route, named by
// its route key and served by the route's function, and the checks of every key authorizer, so
// that a route added to the template is measured with no edit to the bench.
func TestCostActionsCoverTemplate(t *testing.T) {
	app, err := samtemplate.Load(filepath.Join(emulatortest.Root(), "template.yaml"), samtemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, a := range costActions(app) {
		if _, dup := rows[a.name]; dup {
			t.Errorf("two rows named %q", a.name)
		}
		rows[a.name] = a.function
	}
	want := map[string]string{}
	for _, rt := range app.Routes {
		want[rt.Key()] = rt.Function
	}
	for _, la := range app.LambdaAuthorizers {
		want["check uncached"], want["check cached"] = la.Function, la.Function
	}
	for _, rt := range app.Routes {
		if rt.Key() == meteredRoute {
			want["metered call"] = rt.Function
		}
	}
	if len(app.Routes) == 0 || len(app.LambdaAuthorizers) == 0 {
		t.Fatalf("the template has %d routes and %d key authorizers, want some of each", len(app.Routes), len(app.LambdaAuthorizers))
	}
	if !maps.Equal(rows, want) {
		t.Errorf("cost rows: got %v, want %v", rows, want)
	}
	// Every function of the template is measured: a route's or an authorizer's. The ones a queue
	// or a rule invokes are not calls of the API and have no row; a new one must be named here,
	// with where its cost is accounted for.
	notCalls := map[string]string{
		"SenderFunction":    "the webhook sender, per event: BenchmarkEventToSubscriber",
		"ExpiringFunction":  "once a day, whatever the traffic",
		"OwnerLeftFunction": "once per user disabled or deleted in the pool",
	}
	for _, id := range slices.Sorted(maps.Keys(app.Functions)) {
		measured := slices.Contains(slices.Collect(maps.Values(rows)), id)
		if _, ok := notCalls[id]; ok == measured {
			t.Errorf("%s: measured %v, but the bench's list of functions no API call reaches says %v", id, measured, ok)
		}
		// Its cold start is measured all the same, with the event its source sends.
		if _, ok := sourceEvents[id]; ok != (notCalls[id] != "") {
			t.Errorf("%s: an event for its cold start %v, want one exactly for the functions no API call reaches", id, ok)
		}
	}
}

func TestLastDuration(t *testing.T) {
	log := &capture{}
	log.Write([]byte("[F] START RequestId: a Version: $LATEST\n" +
		"[F] REPORT RequestId: a\tInit Duration: 7.10 ms\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n" +
		"[F] REPORT RequestId: b\tDuration: 1.25 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n"))
	got, err := lastDuration(log, 2)
	if err != nil || got != 1250*time.Microsecond {
		t.Errorf("got %v, %v; want 1.25ms", got, err)
	}
	if _, err := lastDuration(log, 3); err == nil {
		t.Error("three calls with two REPORT lines: got no error")
	}
}

// buildForTest builds the template's functions for this machine, and the runtime interface
// emulator, as the bench does.
func buildForTest(t *testing.T, app *samtemplate.App) bootstraps {
	t.Helper()
	dir := t.TempDir()
	b := bootstraps{hostDir: filepath.Join(dir, "host")}
	var err error
	if b.rie, err = lambdas.BuildEmulator(context.Background(), emulatortest.Root(), dir); err != nil {
		t.Fatal(err)
	}
	fns := slices.Collect(maps.Values(app.Functions))
	if err := lambdas.Build(context.Background(), emulatortest.Root(), b.hostDir, fns, runtime.NumCPU()); err != nil {
		t.Fatal(err)
	}
	return b
}
