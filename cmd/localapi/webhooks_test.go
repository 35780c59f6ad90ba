package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// hook is one webhook request as a subscriber got it, with the status it answered.
type hook struct {
	ID, Timestamp, Signature string
	Body                     string
	At                       time.Time
	Answered                 int
}

// hookReceiver is a subscriber's endpoint on 127.0.0.1 that answers failStatus to its first
// fails requests and 204 after.
type hookReceiver struct {
	*httptest.Server
	mu         sync.Mutex
	fails      int
	failStatus int
	got        []hook
}

func newHookReceiver(t *testing.T, fails, failStatus int) *hookReceiver {
	r := &hookReceiver{fails: fails, failStatus: failStatus}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		h := hook{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
			Signature: req.Header.Get("webhook-signature"), Body: string(body), At: time.Now(), Answered: http.StatusNoContent}
		if r.fails > 0 {
			r.fails--
			h.Answered = r.failStatus
		}
		r.got = append(r.got, h)
		w.WriteHeader(h.Answered)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) hooks() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.got...)
}

// dataID is the id of the event's data a hook carries: the delivery's, for delivery.received.
func (h hook) dataID(t *testing.T) string {
	t.Helper()
	var body struct {
		Type string
		Data struct{ ID string }
	}
	if err := json.Unmarshal([]byte(h.Body), &body); err != nil || body.Type != "delivery.received" {
		t.Fatalf("hook body %s: %v, want a delivery.received", h.Body, err)
	}
	return body.Data.ID
}

// hookClient is an integration of the local run: one key, and a session to manage its token.
type hookClient struct {
	srv              *Server
	session, id, key string
}

func (c hookClient) keyCall(t *testing.T, method, path, body string) reply {
	t.Helper()
	return call(t, method, c.srv.URL+path, "Bearer "+c.key, body)
}

func (c hookClient) sessionCall(t *testing.T, method, path string) reply {
	t.Helper()
	return call(t, method, c.srv.URL+path, "Bearer "+c.session, "")
}

// subscribe subscribes target to the deliveries of source, and returns the subscription's id
// and secret.
func (c hookClient) subscribe(t *testing.T, target, source string) (id, secret string) {
	t.Helper()
	r := c.keyCall(t, "POST", "/v1/subscriptions", `{"targetUrl":"`+target+`","event":"delivery.received","source":"`+source+`"}`)
	var sub struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(r.body), &sub); r.status != 201 || err != nil {
		t.Fatalf("subscribe: got %d %s, want 201", r.status, r.shown())
	}
	return sub.ID, sub.Secret
}

// post records a delivery from source and returns its id.
func (c hookClient) post(t *testing.T, source string, n int) string {
	t.Helper()
	r := c.keyCall(t, "POST", "/v1/hooks/"+source, fmt.Sprintf(`{"n":%d}`, n))
	var del struct{ ID string }
	if err := json.Unmarshal([]byte(r.body), &del); r.status != 202 || err != nil {
		t.Fatalf("post to %s: got %d %s, want 202", source, r.status, r.shown())
	}
	return del.ID
}

// subscriptionIDs lists the ids of the key's subscriptions.
func (c hookClient) subscriptionIDs(t *testing.T) []string {
	t.Helper()
	r := c.keyCall(t, "GET", "/v1/subscriptions", "")
	var list struct{ Items []struct{ ID string } }
	if err := json.Unmarshal([]byte(r.body), &list); r.status != 200 || err != nil {
		t.Fatalf("list subscriptions: got %d %s", r.status, r.shown())
	}
	var out []string
	for _, it := range list.Items {
		out = append(out, it.ID)
	}
	return out
}

// attempts lists the statuses and codes of a subscription's attempts, oldest first.
func (c hookClient) attempts(t *testing.T, subID string) []string {
	t.Helper()
	r := c.keyCall(t, "GET", "/v1/subscriptions/"+subID+"/attempts", "")
	var list struct {
		Items []struct {
			Status string
			Code   *int
		}
	}
	if err := json.Unmarshal([]byte(r.body), &list); r.status != 200 || err != nil {
		t.Fatalf("attempts: got %d %s", r.status, r.shown())
	}
	var out []string
	for i := len(list.Items) - 1; i >= 0; i-- {
		it := list.Items[i]
		code := "-"
		if it.Code != nil {
			code = fmt.Sprint(*it.Code)
		}
		out = append(out, it.Status+" "+code)
	}
	return out
}

// newHookClient makes a token of user in env and a session to manage it.
func newHookClient(t *testing.T, srv *Server, user, name string) hookClient {
	t.Helper()
	session, err := srv.Mint(user, "env-hooks", false)
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, "POST", srv.URL+"/v1/tokens", "Bearer "+session, `{"name":"`+name+`"}`)
	var tok struct{ ID, Key string }
	if err := json.Unmarshal([]byte(r.body), &tok); r.status != 201 || err != nil {
		t.Fatalf("create: got %d %s", r.status, r.shown())
	}
	return hookClient{srv: srv, session: session, id: tok.ID, key: tok.Key}
}

// waitQueueIdle waits until the events queue holds no message, visible, in flight or waiting
// for its retry, twice in a row: every event handed to the sender has been handled.
func waitQueueIdle(t *testing.T, srv *Server) {
	t.Helper()
	url := srv.queues[samtemplate.EventsQueueResource]
	deadline, idle := time.Now().Add(60*time.Second), 0
	for idle < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the events queue did not empty within 60 s")
		}
		out, err := srv.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &url,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
		if err != nil {
			t.Fatal(err)
		}
		a := out.Attributes
		if a["ApproximateNumberOfMessages"] == "0" && a["ApproximateNumberOfMessagesNotVisible"] == "0" && a["ApproximateNumberOfMessagesDelayed"] == "0" {
			idle++
		} else {
			idle = 0
		}
		time.Sleep(3 * feedIdle)
	}
}

// tableItems returns the items of the local run's table whose id is id.
func tableItems(t *testing.T, srv *Server, id string) []map[string]types.AttributeValue {
	t.Helper()
	cfg, err := srv.emu.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	expr, err := expression.NewBuilder().WithFilter(expression.Name("id").Equal(expression.Value(id))).Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := dynamodb.NewFromConfig(cfg).Scan(context.Background(), &dynamodb.ScanInput{TableName: &srv.res.TableName,
		FilterExpression: expr.Filter(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// retarget points a stored subscription at target, past the subscribe route's check: what a
// deployed subscription whose name has come to resolve to a private address looks like to the
// sender, which the local run cannot otherwise make (it accepts loopback names only).
func retarget(t *testing.T, srv *Server, subID, target string) {
	t.Helper()
	items := tableItems(t, srv, subID)
	if len(items) != 1 {
		t.Fatalf("got %d items of subscription %s, want 1", len(items), subID)
	}
	cfg, err := srv.emu.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	upd, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name("targetUrl"), expression.Value(target))).Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(cfg).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: &srv.res.TableName, Key: map[string]types.AttributeValue{"pk": items[0]["pk"], "sk": items[0]["sk"]},
		UpdateExpression: upd.Update(), ExpressionAttributeNames: upd.Names(), ExpressionAttributeValues: upd.Values(),
	}); err != nil {
		t.Fatal(err)
	}
}

// signedHook is a hook and the secret of its subscription, for the verifier.
type signedHook struct {
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Signature string `json:"signature"`
	Body      string `json:"body"`
}

// verifyScript verifies every hook it reads from its input with the standardwebhooks npm
// package, an implementation of the signature that is not the sender's; it fails on the first
// that does not verify, or whose body changed by one character still does.
const verifyScript = `
const { Webhook } = require('standardwebhooks');
const hooks = JSON.parse(require('fs').readFileSync(0, 'utf8'));
for (const h of hooks) {
  const headers = { 'webhook-id': h.id, 'webhook-timestamp': h.timestamp, 'webhook-signature': h.signature };
  new Webhook(h.secret).verify(h.body, headers);
  let forged = false;
  try { new Webhook(h.secret).verify(h.body + ' ', headers); forged = true; } catch (e) {}
  if (forged) throw new Error('a changed body verified');
}
console.log('verified ' + hooks.length);
`

// verifyHooks checks the hooks' signatures with the standardwebhooks npm package, installed
// with the Zapier app (make zapier-deps). Without Node or the package it is skipped, except
// under CI=true, where it fails.
func verifyHooks(t *testing.T, hooks []signedHook) {
	t.Helper()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "integrations", "zapier")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node or the standardwebhooks package is missing (make zapier-deps); CI verifies the signatures")
		}
		t.Log("node or the standardwebhooks package is missing (make zapier-deps): signatures not verified")
		return
	}
	in, _ := json.Marshal(hooks)
	cmd := exec.Command(node, "-e", verifyScript)
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(string(in))
	out, err := cmd.CombinedOutput()
	if want := fmt.Sprintf("verified %d", len(hooks)); err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("standardwebhooks: got %v %s, want %q", err, out, want)
	}
}

// TestWebhooksLocal drives subscriptions through the local run as a subscriber sees them: the
// routes put events on the emulator's queue, the sender runs under the Lambda RIE fed from it as
// the event source mapping would, and receivers on 127.0.0.1 answer as the case needs. The retry
// wait is shortened to 1 s (the deployed schedule is held by TestBackoff and the template);
// nothing is sent beyond this machine: the refused target is an address the sender's guard
// refuses before it dials.
func TestWebhooksLocal(t *testing.T) {
	srv, _ := startServerWith(t, Config{WebhookRetrySeconds: "1"})
	subscriber := newHookClient(t, srv, "wes", "Subscriber")
	paused := newHookClient(t, srv, "wes", "Paused")
	poster := newHookClient(t, srv, "wes", "Poster")
	flaky, gone, steady := newHookReceiver(t, 3, http.StatusServiceUnavailable), newHookReceiver(t, 1000, http.StatusGone), newHookReceiver(t, 0, 0)
	flakySub, flakySecret := subscriber.subscribe(t, flaky.URL+"/hooks", "flaky")
	goneSub, _ := subscriber.subscribe(t, gone.URL+"/hooks", "gone")
	refusedSub, _ := subscriber.subscribe(t, steady.URL+"/refused", "refused")
	retarget(t, srv, refusedSub, "http://192.0.2.10:9/hooks") // TEST-NET-1: never routed
	steadySub, steadySecret := paused.subscribe(t, steady.URL+"/hooks", "steady")

	t.Run("a subscriber that fails 3 times then succeeds gets every event once", func(t *testing.T) {
		var want []string
		for n := range 3 {
			want = append(want, poster.post(t, "flaky", n))
		}
		waitQueueIdle(t, srv)
		got := flaky.hooks()
		byID := map[string][]hook{}
		var signed []signedHook
		for _, h := range got {
			byID[h.ID] = append(byID[h.ID], h)
			signed = append(signed, signedHook{flakySecret, h.ID, h.Timestamp, h.Signature, h.Body})
		}
		var delivered []string
		for id, hs := range byID {
			ok := 0
			for i, h := range hs {
				if h.Body != hs[0].Body {
					t.Errorf("webhook %s: got body %s on attempt %d, want %s on every retry", id, h.Body, i+1, hs[0].Body)
				}
				if i > 0 && h.At.Sub(hs[i-1].At) < 900*time.Millisecond {
					t.Errorf("webhook %s: retried %s after a failure, want the 1 s wait", id, h.At.Sub(hs[i-1].At))
				}
				if h.Answered == http.StatusNoContent {
					ok++
				}
			}
			if ok != 1 {
				t.Errorf("webhook %s: got %d successful attempts of %d, want exactly 1", id, ok, len(hs))
			}
			delivered = append(delivered, hs[0].dataID(t))
		}
		if len(got) != 6 || strings.Join(slices.Sorted(slices.Values(delivered)), ",") != strings.Join(slices.Sorted(slices.Values(want)), ",") {
			t.Errorf("got %d requests delivering %v, want 6 (3 failures, 3 successes) delivering %v", len(got), delivered, want)
		}
		verifyHooks(t, signed)
		if a := subscriber.attempts(t, flakySub); strings.Count(strings.Join(a, ","), "failed 503") != 3 || strings.Count(strings.Join(a, ","), "succeeded 204") != 3 {
			t.Errorf("attempts: got %v, want 3 failed with 503 and 3 succeeded with 204", a)
		}
	})

	t.Run("a 410 ends the subscription", func(t *testing.T) {
		poster.post(t, "gone", 1)
		waitQueueIdle(t, srv)
		poster.post(t, "gone", 2)
		waitQueueIdle(t, srv)
		if n := len(gone.hooks()); n != 1 {
			t.Errorf("got %d requests, want 1: none after the 410", n)
		}
		if ids := subscriber.subscriptionIDs(t); strings.Contains(strings.Join(ids, ","), goneSub) || len(ids) != 2 {
			t.Errorf("subscriptions: got %v, want the other two, without %s", ids, goneSub)
		}
		if r := subscriber.keyCall(t, "GET", "/v1/subscriptions/"+goneSub+"/attempts", ""); r.status != 404 || !strings.Contains(r.body, "subscription_not_found") {
			t.Errorf("attempts of the ended subscription: got %d %s, want 404 subscription_not_found", r.status, r.shown())
		}
	})

	t.Run("a refused address gets no delivery", func(t *testing.T) {
		before := len(steady.hooks())
		poster.post(t, "refused", 1)
		waitQueueIdle(t, srv)
		if a := subscriber.attempts(t, refusedSub); strings.Join(a, ",") != "refused -" {
			t.Errorf("attempts: got %v, want one refused, without a code, and no retry", a)
		}
		if n := len(steady.hooks()); n != before {
			t.Errorf("got %d requests more, want none", n-before)
		}
		for _, target := range []string{"http://10.0.0.1/hooks", "http://169.254.169.254/latest/meta-data", "http://[fd00:ec2::254]/", "https://hooks.example.com/"} {
			r := subscriber.keyCall(t, "POST", "/v1/subscriptions", `{"targetUrl":"`+target+`","event":"key.leaked"}`)
			if r.status != 400 || !strings.Contains(r.body, "invalid_target_url") {
				t.Errorf("subscribe %s: got %d %s, want 400 invalid_target_url", target, r.status, r.shown())
			}
		}
		if ids := subscriber.subscriptionIDs(t); len(ids) != 2 {
			t.Errorf("subscriptions after the refused ones: got %v, want the same two", ids)
		}
	})

	t.Run("deactivating the token pauses its subscriptions; activating resumes them", func(t *testing.T) {
		if r := paused.sessionCall(t, "POST", "/v1/tokens/"+paused.id+"/deactivate"); r.status != 200 {
			t.Fatalf("deactivate: got %d", r.status)
		}
		poster.post(t, "steady", 1)
		waitQueueIdle(t, srv)
		if n := len(steady.hooks()); n != 0 {
			t.Fatalf("paused: got %d requests, want none", n)
		}
		if r := paused.sessionCall(t, "POST", "/v1/tokens/"+paused.id+"/activate"); r.status != 200 {
			t.Fatalf("activate: got %d", r.status)
		}
		resumed := poster.post(t, "steady", 2)
		waitQueueIdle(t, srv)
		got := steady.hooks()
		if len(got) != 1 || got[0].dataID(t) != resumed {
			t.Fatalf("resumed: got %d requests, want 1, of delivery %s (none of the paused time)", len(got), resumed)
		}
		verifyHooks(t, []signedHook{{steadySecret, got[0].ID, got[0].Timestamp, got[0].Signature, got[0].Body}})
	})

	t.Run("deleting the token ends its subscriptions", func(t *testing.T) {
		if r := paused.sessionCall(t, "DELETE", "/v1/tokens/"+paused.id); r.status != 204 {
			t.Fatalf("delete: got %d", r.status)
		}
		poster.post(t, "steady", 3)
		waitQueueIdle(t, srv)
		if n := len(steady.hooks()); n != 1 {
			t.Errorf("got %d requests, want still 1", n)
		}
		if items := tableItems(t, srv, steadySub); len(items) != 0 {
			t.Errorf("got %d items of the deleted token's subscription, want it ended", len(items))
		}
	})
}
