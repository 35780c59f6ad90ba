package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/shared/webhooks"
	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/samtemplate"
	"github.com/apitokens/apitokens/testkit/sqsfeed"
)

// received is one webhook request as a subscriber got it.
type received struct {
	id, timestamp, signature string
	body                     []byte
}

// receiver is a subscriber's endpoint on loopback that answers failStatus to its first fails
// requests and 204 after.
type receiver struct {
	*httptest.Server
	mu         sync.Mutex
	fails      int
	failStatus int
	got        []received
}

func newReceiver(t testing.TB, fails, failStatus int) *receiver {
	r := &receiver{fails: fails, failStatus: failStatus}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, received{req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), body})
		if r.fails > 0 {
			r.fails--
			w.WriteHeader(r.failStatus)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// loopbackClient is the sender's client as the local run has it.
func loopbackClient() handlers.Poster {
	return (&webhooks.Guard{Targets: webhooks.Loopback, Resolver: net.DefaultResolver}).Client(2 * time.Second)
}

// drain feeds the events queue to the sender as the event source mapping would, until it is
// empty (failed deliveries come back at once: the tests' backoff is 0 s).
func (a *api) drain(client handlers.Poster) {
	a.t.Helper()
	a.coldKeys() // the sender is a function of its own: it reads the key ring itself
	send := handlers.SendEvents(a.deps, client)
	f := &sqsfeed.Feeder{
		Client: sqs.NewFromConfig(a.env.Config), QueueURL: a.env.Queues[samtemplate.EventsQueueResource], QueueARN: "arn:aws:sqs:us-east-1:123456789012:events",
		Invoke: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			return send(emulatortest.WithCaller(ctx, "SenderFunction"), ev)
		},
	}
	if _, err := f.Drain(context.Background()); err != nil {
		a.t.Fatal(err)
	}
}

// verify checks a request's signature with secret, computed here from the specification.
func verify(t *testing.T, secret string, r received) {
	t.Helper()
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.id + "." + r.timestamp + "." + string(r.body)))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); r.signature != want {
		t.Errorf("webhook %s: got signature %q, want %q", r.id, r.signature, want)
	}
}

func TestSenderDeliversSignedEvents(t *testing.T) {
	a := newAPI(t, 50)
	hooks, other := newReceiver(t, 0, 0), newReceiver(t, 0, 0)
	subscriber := a.create(ann, `{"name":"Zapier"}`).str("key")
	poster := a.create(ann, `{"name":"Poster"}`).str("key")
	sub := a.subscribe(subscriber, `{"targetUrl":"`+hooks.URL+`/hook","event":"delivery.received"}`)
	a.subscribe(subscriber, `{"targetUrl":"`+other.URL+`/hook","event":"delivery.received","source":"other"}`)
	del := a.keyDo(poster, "POST", "/v1/hooks/zapier", `{"contact":"Jo"}`)
	a.drain(loopbackClient())

	got := hooks.requests()
	if len(got) != 1 || len(other.requests()) != 0 {
		t.Fatalf("got %d and %d requests, want 1 to the subscription and none to the other source's", len(got), len(other.requests()))
	}
	verify(t, sub.str("secret"), got[0])
	var body struct {
		Type string
		Data struct {
			ID      string
			Source  string
			Payload map[string]any
		}
	}
	if err := json.Unmarshal(got[0].body, &body); err != nil || body.Type != "delivery.received" || body.Data.ID != del.str("id") ||
		body.Data.Source != "zapier" || body.Data.Payload["contact"] != "Jo" || !strings.HasPrefix(got[0].id, "msg_") {
		t.Errorf("got %s (id %s), want the delivery %s", got[0].body, got[0].id, del.str("id"))
	}
	at := a.keyDo(subscriber, "GET", "/v1/subscriptions/"+sub.str("id")+"/attempts", "")
	items, _ := at.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["status"] != "succeeded" || items[0].(map[string]any)["code"] != float64(204) ||
		items[0].(map[string]any)["webhookId"] != got[0].id {
		t.Errorf("attempts: got %s, want one that succeeded with 204", at.raw)
	}
}

// A subscriber that fails three times then succeeds gets every event, with the same
// webhook-id on each retry; every attempt is recorded.
func TestSenderRetriesUntilDelivered(t *testing.T) {
	a := newAPI(t, 50)
	flaky := newReceiver(t, 3, http.StatusServiceUnavailable)
	subscriber := a.create(ann, `{"name":"Zapier"}`).str("key")
	sub := a.subscribe(subscriber, `{"targetUrl":"`+flaky.URL+`","event":"delivery.received"}`)
	a.keyDo(subscriber, "POST", "/v1/hooks/zapier", `{"n":1}`)
	a.drain(loopbackClient())
	got := flaky.requests()
	if len(got) != 4 {
		t.Fatalf("got %d requests, want 3 failures and 1 success", len(got))
	}
	for _, r := range got {
		verify(t, sub.str("secret"), r)
		if r.id != got[0].id || string(r.body) != string(got[0].body) {
			t.Errorf("got webhook-id %s body %s, want %s %s on every retry", r.id, r.body, got[0].id, got[0].body)
		}
	}
	a.coldKeys()
	page := a.keyDo(subscriber, "GET", "/v1/subscriptions/"+sub.str("id")+"/attempts?limit=3", "")
	next, _ := page.body["nextCursor"].(string)
	if len(page.body["items"].([]any)) != 3 || next == "" {
		t.Fatalf("attempts, first page: got %s, want 3 and a cursor", page.raw)
	}
	at := a.keyDo(subscriber, "GET", "/v1/subscriptions/"+sub.str("id")+"/attempts", "")
	var statuses []string
	for _, it := range at.body["items"].([]any) {
		statuses = append(statuses, it.(map[string]any)["status"].(string))
	}
	if strings.Join(statuses, " ") != "succeeded failed failed failed" {
		t.Errorf("attempts, newest first: got %v, want one success after three failures", statuses)
	}
}

// 410 Gone ends the subscription: nothing more is sent to it.
func TestSenderEndsSubscriptionOn410(t *testing.T) {
	a := newAPI(t, 50)
	gone := newReceiver(t, 100, http.StatusGone)
	subscriber := a.create(ann, `{"name":"Zapier"}`).str("key")
	a.subscribe(subscriber, `{"targetUrl":"`+gone.URL+`","event":"delivery.received"}`)
	a.keyDo(subscriber, "POST", "/v1/hooks/zapier", `{"n":1}`)
	a.drain(loopbackClient())
	a.keyDo(subscriber, "POST", "/v1/hooks/zapier", `{"n":2}`)
	a.drain(loopbackClient())
	if n := len(gone.requests()); n != 1 {
		t.Errorf("got %d requests, want 1: none after the 410", n)
	}
	if l := a.keyDo(subscriber, "GET", "/v1/subscriptions", ""); len(l.body["items"].([]any)) != 0 {
		t.Errorf("got %s, want the subscription ended", l.raw)
	}
}

// Deactivating the subscriber's token pauses its subscriptions; activating resumes them;
// deleting it ends them.
func TestSenderPausesAndEndsWithTheToken(t *testing.T) {
	a := newAPI(t, 50)
	hooks := newReceiver(t, 0, 0)
	created := a.create(ann, `{"name":"Zapier"}`)
	subscriber, tokenID := created.str("key"), created.str("id")
	poster := a.create(ann, `{"name":"Poster"}`).str("key")
	sub := a.subscribe(subscriber, `{"targetUrl":"`+hooks.URL+`","event":"delivery.received"}`)

	a.do(ann, "POST", "/v1/tokens/"+tokenID+"/deactivate", "")
	a.keyDo(poster, "POST", "/v1/hooks/zapier", `{"n":1}`)
	a.drain(loopbackClient())
	if n := len(hooks.requests()); n != 0 {
		t.Fatalf("paused: got %d requests, want none", n)
	}
	a.do(ann, "POST", "/v1/tokens/"+tokenID+"/activate", "")
	a.keyDo(poster, "POST", "/v1/hooks/zapier", `{"n":2}`)
	a.drain(loopbackClient())
	if n := len(hooks.requests()); n != 1 {
		t.Fatalf("resumed: got %d requests, want 1", n)
	}
	a.do(ann, "DELETE", "/v1/tokens/"+tokenID, "")
	a.keyDo(poster, "POST", "/v1/hooks/zapier", `{"n":3}`)
	a.drain(loopbackClient())
	if n := len(hooks.requests()); n != 1 {
		t.Errorf("deleted: got %d requests, want still 1", n)
	}
	if _, err := a.deps.Store.Subscription(context.Background(), "env-1", tokenID, sub.str("id")); err != tokenstore.ErrSubscriptionNotFound {
		t.Errorf("got %v reading the deleted token's subscription, want it ended", err)
	}
}

// refusingNetwork resolves names from a table and refuses every connection, recording it.
type refusingNetwork struct {
	mu     sync.Mutex
	dialed []string
}

func (n *refusingNetwork) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("10.20.30.40")}, nil
}

func (n *refusingNetwork) Dial(_ context.Context, _, address string) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dialed = append(n.dialed, address)
	return nil, io.ErrClosedPipe
}

// A target whose name resolves to a private address is refused at send time, before any
// connection, recorded as refused, and not retried.
func TestSenderRefusesPrivateAddresses(t *testing.T) {
	a := newAPI(t, 50)
	subscriber := a.create(ann, `{"name":"Zapier"}`).str("key")
	a.deps.Config.Webhooks.Targets = webhooks.Public // as deployed: the name passes, its address does not
	sub := a.subscribe(subscriber, `{"targetUrl":"https://hooks.internal.example/hook","event":"delivery.received"}`)
	a.deps.Config.Webhooks.Targets = webhooks.Loopback
	network := &refusingNetwork{}
	a.keyDo(subscriber, "POST", "/v1/hooks/zapier", `{"n":1}`)
	a.drain((&webhooks.Guard{Targets: webhooks.Public, Resolver: network, Dial: network.Dial}).Client(time.Second))
	if len(network.dialed) != 0 {
		t.Errorf("got dials of %v, want none", network.dialed)
	}
	at := a.keyDo(subscriber, "GET", "/v1/subscriptions/"+sub.str("id")+"/attempts", "")
	items := at.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["status"] != "refused" || items[0].(map[string]any)["code"] != nil {
		t.Errorf("attempts: got %s, want one refused, without a code", at.raw)
	}
}

// Key events reach the subscriptions of the keys that may see them: an Admin key sees its
// environment's, a User key its owner's only.
func TestSenderKeyEvents(t *testing.T) {
	a := newAPI(t, 50)
	a.deps.Config.Webhooks.SubscriptionLimit = 10
	office, mine := newReceiver(t, 0, 0), newReceiver(t, 0, 0)
	adminKey := a.create(adam, `{"name":"Office","type":"admin"}`).str("key")
	carlKey := a.create(carl, `{"name":"Carl's"}`).str("key")
	for _, ev := range []string{"key.deactivated", "key.deleted", "key.expiring", "key.leaked"} {
		a.subscribe(adminKey, `{"targetUrl":"`+office.URL+`","event":"`+ev+`"}`)
	}
	a.subscribe(carlKey, `{"targetUrl":"`+mine.URL+`","event":"key.deactivated"}`)

	expires := a.clock().Add(3 * 24 * time.Hour).Format(time.RFC3339)
	soon := a.create(ann, `{"name":"Soon","expiresAt":"`+expires+`"}`)
	gone := a.create(ann, `{"name":"Gone"}`)
	leaked := a.create(ann, `{"name":"Leaked"}`)
	a.do(ann, "POST", "/v1/tokens/"+gone.str("id")+"/deactivate", "")
	a.do(ann, "DELETE", "/v1/tokens/"+gone.str("id"), "")
	a.signed(reportOf(leaked.str("key")))
	notify := handlers.NotifyExpiring(a.deps)
	for range 2 { // a second run announces nothing twice
		if err := notify(emulatortest.WithCaller(context.Background(), "ExpiringFunction"), events.EventBridgeEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	a.drain(loopbackClient())

	var types []string
	for _, r := range office.requests() {
		var body struct {
			Type string
			Data struct{ ID, TokenID, Hint string }
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		types = append(types, body.Type+" "+body.Data.TokenID)
		if strings.Contains(string(r.body), "cbk_") && !strings.Contains(body.Data.Hint, "…") {
			t.Errorf("got %s, want no key in an event", r.body)
		}
	}
	want := []string{"key.deactivated " + gone.str("id"), "key.deleted " + gone.str("id"), "key.leaked " + leaked.str("id"), "key.expiring " + soon.str("id")}
	if strings.Join(sorted(types), ",") != strings.Join(sorted(want), ",") {
		t.Errorf("the Admin key's subscriptions got %v, want %v", types, want)
	}
	if n := len(mine.requests()); n != 0 {
		t.Errorf("another user's User key got %d events of ann's keys, want none", n)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// coldKeys starts the routes' key ring afresh, as a function's first call would.
func (a *api) coldKeys() {
	a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock)
}

// keyEventsOf reads the type and token of each key event a receiver got.
func keyEventsOf(t *testing.T, r *receiver) []string {
	t.Helper()
	var out []string
	for _, req := range r.requests() {
		var body struct {
			Type string
			Data struct{ TokenID, UserID string }
		}
		if err := json.Unmarshal(req.body, &body); err != nil {
			t.Fatal(err)
		}
		out = append(out, body.Type+" "+body.Data.TokenID+" "+body.Data.UserID)
	}
	return sorted(out)
}

// Suspending every token of a user, by an administrator or because the user left the identity
// provider, reports each token it suspended as key.deactivated, as a single deactivate does;
// a token already inactive is not reported again.
func TestSenderBulkDeactivateReportsEachToken(t *testing.T) {
	a := newAPI(t, 50)
	office := newReceiver(t, 0, 0)
	adminKey := a.create(adam, `{"name":"Office","type":"admin"}`).str("key")
	a.subscribe(adminKey, `{"targetUrl":"`+office.URL+`","event":"key.deactivated"}`)
	one, two, paused := a.create(ann, `{"name":"One"}`), a.create(ann, `{"name":"Two"}`), a.create(ann, `{"name":"Paused"}`)
	leaver := a.create(carl, `{"name":"Carl's"}`)
	a.do(ann, "POST", "/v1/tokens/"+paused.str("id")+"/deactivate", "")
	a.drain(loopbackClient())
	before := len(office.requests()) // the single deactivate's event

	a.advance(2 * time.Second) // gsi1 lags writes by up to a second
	if r := a.do(adam, "POST", "/v1/users/ann/tokens/deactivate", ""); r.status != 200 || r.body["deactivated"] != float64(2) {
		t.Fatalf("bulk deactivate: got %d %s, want 200 and 2", r.status, r.raw)
	}
	ev := events.CloudWatchEvent{ID: "e1", DetailType: "AWS API Call via CloudTrail", Source: "aws.cognito-idp",
		Detail: json.RawMessage(`{"eventSource":"cognito-idp.amazonaws.com","eventName":"AdminDisableUser","requestParameters":{"userPoolId":"us-east-1_X","username":"carl"}}`)}
	if got, err := handlers.OwnerLeft(a.deps)(emulatortest.WithCaller(context.Background(), "OwnerLeftFunction"), ev); err != nil || got.Deactivated != 1 {
		t.Fatalf("owner left: got %+v, %v, want carl's one token", got, err)
	}
	a.drain(loopbackClient())

	got := keyEventsOf(t, office)
	want := sorted([]string{
		"key.deactivated " + paused.str("id") + " ann",
		"key.deactivated " + one.str("id") + " ann", "key.deactivated " + two.str("id") + " ann",
		"key.deactivated " + leaver.str("id") + " carl",
	})
	if before != 1 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v (%d before the bulk deactivate), want %v (1 before): each suspended token once", got, before, want)
	}
	ids := map[string]bool{}
	for _, r := range office.requests() {
		ids[r.id] = true
	}
	if len(ids) != len(want) {
		t.Errorf("got %d distinct webhook-ids for %d events, want one each", len(ids), len(want))
	}
}
