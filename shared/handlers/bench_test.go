package handlers_test

import (
	"fmt"
	"testing"
)

// The benchmarks below run the handlers against the emulator over loopback HTTP: they measure
// the service's own work plus one emulator round trip per AWS call, not DynamoDB's latency.

// BenchmarkCreate creates tokens into a table of under 20 of them: the emulator copies a table
// for every transaction, so a table that grew with b.N would measure the emulator, not us.
func BenchmarkCreate(b *testing.B) {
	var a *api
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%20 == 0 {
			b.StopTimer()
			a = newAPI(b, 50)
			a.create(ann, `{"name":"warm-up"}`) // the key ring is cached from here on
			b.StartTimer()
		}
		i++
		if r := a.do(ann, "POST", "/v1/tokens", fmt.Sprintf(`{"name":"t%d"}`, i)); r.status != 201 {
			b.Fatalf("create = %d", r.status)
		}
	}
}

func BenchmarkListPage(b *testing.B) {
	a := newAPI(b, 50)
	for i := range 25 {
		a.create(ann, fmt.Sprintf(`{"name":"t%d"}`, i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := a.do(adam, "GET", "/v1/tokens?owner=all&limit=20", ""); r.status != 200 {
			b.Fatalf("list = %d", r.status)
		}
	}
}

func BenchmarkReveal(b *testing.B) {
	a := newAPI(b, 50)
	id := a.create(ann, `{"name":"x"}`).str("id")
	b.ReportAllocs()
	for b.Loop() {
		if r := a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", ""); r.status != 200 {
			b.Fatalf("reveal = %d", r.status)
		}
	}
}
