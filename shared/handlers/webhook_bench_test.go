package handlers_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/webhooks"
)

// BenchmarkEventToSubscriber measures, per event, the time from the request that causes it (a
// delivery posted) to the subscriber receiving the signed webhook, through the emulator's queue
// and the sender's two hops (fan-out, then the post), fed as the event source mapping feeds it.
// It reports the 95th percentile (p95-ms; the target is ≤ 2000), the events lost when the
// subscriber fails three times before it succeeds (lost-events; target 0), and the connections
// made to a refused address (refused-dials; target 0).
func BenchmarkEventToSubscriber(b *testing.B) {
	a := newAPI(b, 50)
	hooks := &benchReceiver{}
	srv := hooks.start(b, 0)
	key := a.create(ann, `{"name":"Bench"}`).str("key")
	a.subscribe(key, `{"targetUrl":"`+srv+`","event":"delivery.received"}`)
	var latencies []time.Duration
	for b.Loop() {
		start := time.Now()
		a.keyDo(key, "POST", "/v1/hooks/bench", `{"n":1}`)
		a.drain(loopbackClient())
		if at := hooks.last(); !at.IsZero() {
			latencies = append(latencies, at.Sub(start))
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(float64(latencies[(len(latencies)*95+99)/100-1].Microseconds())/1000, "p95-ms")
	}

	// Lost events: ten events to a subscriber that fails each one three times first.
	a2 := newAPI(b, 50)
	flaky := &benchReceiver{failEach: 3}
	flakyURL := flaky.start(b, 3)
	key2 := a2.create(ann, `{"name":"Flaky"}`).str("key")
	a2.subscribe(key2, `{"targetUrl":"`+flakyURL+`","event":"delivery.received"}`)
	for range 10 {
		a2.keyDo(key2, "POST", "/v1/hooks/bench", `{"n":1}`)
	}
	a2.drain(loopbackClient())
	b.ReportMetric(float64(10-flaky.delivered()), "lost-events")

	// Refused: a target whose name resolves to a private address.
	a2.deps.Config.Webhooks.Targets = webhooks.Public
	a2.subscribe(key2, `{"targetUrl":"https://hooks.internal.example/","event":"delivery.received"}`)
	network := &refusingNetwork{}
	a2.keyDo(key2, "POST", "/v1/hooks/bench", `{"n":2}`)
	a2.drain((&webhooks.Guard{Targets: webhooks.Public, Resolver: network, Dial: network.Dial}).Client(time.Second))
	b.ReportMetric(float64(len(network.dialed)), "refused-dials")
}

// benchReceiver is a subscriber that records when each webhook arrived and which ones it
// accepted, failing each webhook-id failEach times first.
type benchReceiver struct {
	r        *receiver
	failEach int
	tries    map[string]int
	ok       map[string]time.Time
}

func (h *benchReceiver) start(b *testing.B, failEach int) string {
	h.tries, h.ok, h.failEach = map[string]int{}, map[string]time.Time{}, failEach
	h.r = newReceiver(b, 0, 0)
	h.r.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.r.mu.Lock()
		defer h.r.mu.Unlock()
		id := req.Header.Get("webhook-id")
		if h.tries[id]++; h.tries[id] <= h.failEach {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if _, seen := h.ok[id]; !seen {
			h.ok[id] = time.Now()
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return h.r.URL
}

// last is when the latest webhook was accepted.
func (h *benchReceiver) last() time.Time {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	var last time.Time
	for _, at := range h.ok {
		if at.After(last) {
			last = at
		}
	}
	return last
}

func (h *benchReceiver) delivered() int {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	return len(h.ok)
}
