package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/apitokens/apitokens/cmd/localapi/internal/devidp"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// chromium finds the headless browser the page's tests drive: $CHROMIUM, or Debian's chromium
// package. Without one the tests skip, except under CI=true, where they are mandatory.
func chromium(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser"}
	if p := os.Getenv("CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true and no Chromium found: the browser tests are mandatory in CI (apt-get install chromium)")
	}
	t.Skip("SKIPPED: no Chromium found (apt-get install chromium, or set CHROMIUM): the dashboard's browser tests did not run")
	return ""
}

// page is the dashboard served by a local API, and a browser to drive it.
type page struct {
	t       *testing.T
	srv     *Server
	browser context.Context
	shots   string
}

func newPage(t *testing.T) *page {
	t.Helper()
	exe := chromium(t)
	srv, out := startServer(t, "")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local run output:\n%s", out)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // the CI runs as root, where Chromium's sandbox cannot start
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("lang", "en-US"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	shots := filepath.Join(root, "build", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &page{t: t, srv: srv, browser: ctx, shots: shots}
}

// tab is one browser tab: its own sessionStorage, so its own session.
type tab struct {
	*page
	ctx context.Context
}

func (p *page) tab(t *testing.T) *tab {
	ctx, cancel := chromedp.NewContext(p.browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	// Copy writes to the real clipboard; the test reads it back.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: p.srv.URL,
		})
		if err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	return &tab{page: p, ctx: ctx}
}

// run runs actions in the tab, failing the test with what it was doing.
func (b *tab) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression in the tab, a promise's once it settles.
func eval[T any](t *testing.T, b *tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// js is an action that runs a JavaScript expression for its effect.
func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[*cdpruntime.RemoteObject](expr)(ctx, t)
		return err
	})
}

// poll waits until a JavaScript expression is true.
func poll(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout))
}

// signIn opens the page and signs in on the development provider's form.
func (b *tab) signIn(t *testing.T, user, environment string, admin bool) {
	t.Helper()
	role := "role-agent"
	if admin {
		role = "role-admin"
	}
	b.run(t, "sign in as "+user,
		chromedp.Navigate(b.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("environment")),
		chromedp.SetValue(chromedp.ID("user"), user),
		chromedp.SetValue(chromedp.ID("environment"), environment),
		chromedp.Click(chromedp.ID(role)),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("tokens")),
		chromedp.WaitNotPresent(chromedp.CSS(`#token-table[aria-busy]`)),
	)
	if got := eval[string](t, b, `document.getElementById("account-name").textContent`); !strings.HasPrefix(got, user) {
		t.Fatalf("signed in as %q, want %s", got, user)
	}
	// The session lives in this tab only.
	if n := eval[int](t, b, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d items after sign-in, want none", n)
	}
}

func (b *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	b.run(t, "settle", chromedp.Sleep(150*time.Millisecond))
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// menuItems opens the three-dot menu of the token and returns its items' labels.
func (b *tab) menuItems(t *testing.T, tokenID string) []string {
	t.Helper()
	b.run(t, "open the menu", chromedp.Click(chromedp.CSS(kebab(tokenID))), chromedp.WaitVisible(chromedp.ID("token-menu")))
	return eval[[]string](t, b, `[...document.querySelectorAll("#token-menu [role=menuitem]")].map(b => b.textContent)`)
}

// choose opens the token's menu and picks label.
func (b *tab) choose(t *testing.T, tokenID, label string) {
	t.Helper()
	b.menuItems(t, tokenID)
	b.run(t, "choose "+label, chromedp.Click(chromedp.Search(fmt.Sprintf(`//ul[@id="token-menu"]//button[normalize-space()=%q]`, label))))
}

func kebab(tokenID string) string { return fmt.Sprintf(`button.kebab[data-token=%q]`, tokenID) }

// rowText is the text of the token's row, or "" when it is not listed.
func (b *tab) rowText(t *testing.T, tokenID string) string {
	t.Helper()
	return eval[string](t, b, fmt.Sprintf(`[...document.querySelector('tr[data-id=%q]')?.cells ?? []].map(c => c.textContent).join(" | ")`, tokenID))
}

// waitRow waits until the token's row holds want: what the page shows once its request is
// answered, which on a loaded machine can take a while (no bound of the product is timed here).
func (b *tab) waitRow(t *testing.T, tokenID, want string) {
	t.Helper()
	b.run(t, "row shows "+want, poll(fmt.Sprintf(`(document.querySelector('tr[data-id=%q]')?.textContent ?? "").includes(%q)`, tokenID, want), 30*time.Second))
}

// createToken runs +New → Create Token → Save and returns the id of the new row and the key
// the key window shows, copied with its Copy button.
func (b *tab) createToken(t *testing.T, name string, shots bool) (id, key string) {
	t.Helper()
	b.run(t, "+New", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")),
		chromedp.SendKeys(chromedp.ID("create-name"), name))
	if shots {
		b.screenshot(t, "create-token")
	}
	b.run(t, "Save", chromedp.Click(chromedp.ID("create-save")), chromedp.WaitVisible(chromedp.ID("key-dialog")))
	if shots {
		b.screenshot(t, "key-window")
	}
	key = b.copyKey(t)
	b.run(t, "Close", chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")),
		poll(`document.activeElement.id === "new-token"`, 5*time.Second))
	if v := eval[string](t, b, `document.getElementById("key-value").value`); v != "" {
		t.Error("the key window still holds the key after Close")
	}
	id = eval[string](t, b, fmt.Sprintf(`[...document.querySelectorAll("tr[data-id]")].find(r => r.querySelector(".token-name").textContent === %q)?.dataset.id ?? ""`, name))
	if id == "" {
		t.Fatalf("no row named %q after Save", name)
	}
	return id, key
}

// copyKey presses Copy in the open key window and returns what the clipboard then holds, which
// must be the key the window shows.
func (b *tab) copyKey(t *testing.T) string {
	t.Helper()
	b.run(t, "Copy", chromedp.Click(chromedp.ID("key-copy")),
		poll(`document.getElementById("key-status").textContent.startsWith("Copied")`, 5*time.Second))
	key := eval[string](t, b, `navigator.clipboard.readText()`)
	shown := eval[string](t, b, `document.getElementById("key-value").value`)
	if key == "" || key != shown {
		t.Fatalf("clipboard holds %d characters that differ from the key window's, want the key", len(key))
	}
	return key
}

// reportLeak sends the local API a report of key signed as GitHub's secret scanning signs one,
// with the signing key of `localapi report-leak`.
func reportLeak(t *testing.T, srv *Server, key string) {
	t.Helper()
	signer, err := loadOrCreateScanKey(filepath.Join(srv.stateDir, scanKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	body, id, sig, err := signedReport(signer, key)
	if err != nil {
		t.Fatal(err)
	}
	status, answer, err := postReport(srv.URL, body, id, sig)
	if err != nil {
		t.Fatal(err)
	}
	if status != 200 || !strings.Contains(string(answer), `"label":"true_positive"`) {
		t.Fatalf("leak report = %d %s", status, keyShaped.ReplaceAllString(string(answer), "${1}…${2}"))
	}
}

// watchRolls records the Idempotency-Key of each roll the page sends, in window.rollKeys.
const watchRolls = `(() => {
	window.rollKeys = [];
	const send = window.fetch;
	window.fetch = (url, init) => {
		if (String(url).endsWith("/roll")) window.rollKeys.push((init && init.headers && init.headers["Idempotency-Key"]) || "");
		return send(url, init);
	};
})()`

// graceChoices are the labels of the roll window's grace choices on offer.
const graceChoices = `[...document.querySelectorAll("#roll-grace label")].filter(l => !l.hidden).map(l => l.textContent.trim())`

// me calls /v1/me with key and answers the status and the token's name.
func me(t *testing.T, url, key string) (int, string) {
	t.Helper()
	r := do(t, "GET", url+"/v1/me", "Bearer "+key, "")
	var body struct{ TokenName string }
	_ = json.Unmarshal([]byte(r.body), &body)
	return r.status, body.TokenName
}

// within waits, in real time, for /v1/me with key to answer want, at most the 10 s docs/keys.md
// states for a status change to reach every call.
func within(t *testing.T, url, key, step string, want int) {
	t.Helper()
	start := time.Now()
	for {
		s, _ := me(t, url, key)
		if s == want {
			t.Logf("%s: /v1/me %d after %v", step, want, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s: /v1/me still %d after 10 s, want %d", step, s, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

var hintPattern = regexp.MustCompile(`^([a-z][a-z0-9]{1,7}_)…(.{4})$`)

// TestDashboardInABrowser walks the seed's flow on the API Tokens page in headless Chromium,
// signed in through the local identity provider, against the local run's gateway and functions.
func TestDashboardInABrowser(t *testing.T) {
	p := newPage(t)
	start := time.Now()
	defer func() { t.Logf("browser tests took %v", time.Since(start).Round(100*time.Millisecond)) }()

	t.Run("an agent walks the seed's flow", func(t *testing.T) {
		b := p.tab(t)
		b.signIn(t, "agent-1", "env-b", false)
		if got := eval[string](t, b, `document.getElementById("list-state").textContent`); !strings.Contains(got, "no API tokens yet") {
			t.Errorf("empty state = %q, want the no-tokens message", got)
		}
		if eval[bool](t, b, `!document.getElementById("filter").hidden`) {
			t.Error("an agent sees the owner filter")
		}
		b.run(t, "+New", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")))
		if types := eval[[]string](t, b, `[...document.querySelectorAll("#create-type option")].map(o => o.textContent)`); strings.Join(types, ",") != "User" {
			t.Errorf("an agent's types = %v, want [User] only", types)
		}
		b.run(t, "Cancel", chromedp.Click(chromedp.CSS(`#create-dialog [data-close]`)), chromedp.WaitNotVisible(chromedp.ID("create-dialog")))

		id, key := b.createToken(t, "Zapier Sync", true)
		row := b.rowText(t, id)
		for _, want := range []string{"Zapier Sync", "active", "Never"} {
			if !strings.Contains(row, want) {
				t.Errorf("row %q lacks %q", row, want)
			}
		}
		hint := eval[string](t, b, fmt.Sprintf(`document.querySelector('tr[data-id=%q] .hint').textContent`, id))
		if m := hintPattern.FindStringSubmatch(hint); m == nil || !strings.HasPrefix(key, m[1]) || !strings.HasSuffix(key, m[2]) {
			t.Errorf("hint %q does not match the key's prefix and last four", hint)
		}
		if s, name := me(t, p.srv.URL, key); s != 200 || name != "Zapier Sync" {
			t.Fatalf("/v1/me with the copied key: %d %q, want 200 Zapier Sync", s, name)
		}
		b.screenshot(t, "list")

		// Edit: the API's refusal shows in the window, then a good name.
		b.choose(t, id, "Edit")
		b.run(t, "empty name", chromedp.WaitVisible(chromedp.ID("edit-dialog")), chromedp.SetValue(chromedp.ID("edit-name"), "   "),
			chromedp.Click(chromedp.ID("edit-save")), chromedp.WaitVisible(chromedp.ID("edit-problem")))
		if got := eval[string](t, b, `document.getElementById("edit-problem").textContent`); got == "" || !eval[bool](t, b, `document.getElementById("edit-dialog").open`) {
			t.Errorf("empty name: problem %q, want the API's detail in the open window", got)
		}
		b.run(t, "rename", chromedp.SetValue(chromedp.ID("edit-name"), "Zapier Sync (CRM)"), chromedp.Click(chromedp.ID("edit-save")),
			chromedp.WaitNotVisible(chromedp.ID("edit-dialog")))
		b.waitRow(t, id, "Zapier Sync (CRM)")
		if got := eval[string](t, b, `document.activeElement.dataset.token ?? ""`); got != id {
			t.Errorf("focus after the edit on %q, want the token's menu button", got)
		}

		// View key shows the same key again.
		b.choose(t, id, "View key")
		b.run(t, "view key", chromedp.WaitVisible(chromedp.ID("key-dialog")))
		if got := eval[string](t, b, `document.getElementById("key-value").value`); got != key {
			t.Error("View key shows another key than the one created")
		}
		b.run(t, "close", chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))

		b.choose(t, id, "Deactivate")
		b.waitRow(t, id, "inactive")
		within(t, p.srv.URL, key, "deactivate", 403)
		if items := b.menuItems(t, id); !contains(items, "Activate") || contains(items, "Deactivate") {
			t.Errorf("menu of an inactive token = %v, want Activate instead of Deactivate", items)
		}
		b.run(t, "Activate", chromedp.Click(chromedp.Search(`//ul[@id="token-menu"]//button[.="Activate"]`)))
		b.run(t, "active again", poll(fmt.Sprintf(`document.querySelector('tr[data-id=%q] .badge').textContent === "active"`, id), 10*time.Second))
		within(t, p.srv.URL, key, "activate", 200)

		b.choose(t, id, "History")
		b.run(t, "history", chromedp.WaitVisible(chromedp.CSS("#history-list li")),
			poll(`document.getElementById("history-state").textContent === ""`, 10*time.Second))
		history := eval[string](t, b, `document.getElementById("history-list").innerText`)
		for _, want := range []string{"Created", "Renamed", "Key viewed", "Deactivated", "Activated"} {
			if !strings.Contains(history, want) {
				t.Errorf("history %q lacks %q", history, want)
			}
		}
		b.run(t, "close history", chromedp.Click(chromedp.CSS(`#history-dialog [data-close]`)), chromedp.WaitNotVisible(chromedp.ID("history-dialog")))

		// Delete asks first, naming the token; Cancel keeps it.
		b.choose(t, id, "Delete")
		b.run(t, "confirm", chromedp.WaitVisible(chromedp.ID("delete-dialog")))
		if got := eval[string](t, b, `document.getElementById("delete-title").textContent`); got != "Delete “Zapier Sync (CRM)”?" {
			t.Errorf("confirmation = %q, want it to name the token", got)
		}
		b.run(t, "cancel", chromedp.Click(chromedp.CSS(`#delete-dialog [data-close]`)), chromedp.WaitNotVisible(chromedp.ID("delete-dialog")))
		if s, _ := me(t, p.srv.URL, key); s != 200 {
			t.Fatalf("after Cancel: /v1/me %d, want 200", s)
		}
		b.choose(t, id, "Delete")
		b.run(t, "delete", chromedp.WaitVisible(chromedp.ID("delete-dialog")), chromedp.Click(chromedp.ID("delete-confirm")),
			chromedp.WaitNotVisible(chromedp.ID("delete-dialog")))
		if row := b.rowText(t, id); row != "" {
			t.Errorf("row still listed after Delete: %q", row)
		}
		within(t, p.srv.URL, key, "delete", 403)
	})

	t.Run("an agent sees only their own tokens; an admin sees everyone's but no other key", func(t *testing.T) {
		agentSession, err := p.srv.Mint("agent-2", "env-b", false)
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, "POST", p.srv.URL+"/v1/tokens", "Bearer "+agentSession, `{"name":"Listing Feed"}`)
		var theirs struct{ ID, Key string }
		if err := json.Unmarshal([]byte(r.body), &theirs); r.status != 201 || err != nil {
			t.Fatalf("create agent-2's token: %d", r.status)
		}
		if s, _ := me(t, p.srv.URL, theirs.Key); s != 200 { // a last use to show
			t.Fatalf("/v1/me with agent-2's key: %d", s)
		}
		// An inactive token and one that expires in a moment, for their badges.
		var paused, expiring struct{ ID string }
		_ = json.Unmarshal([]byte(do(t, "POST", p.srv.URL+"/v1/tokens", "Bearer "+agentSession, `{"name":"Mailchimp"}`).body), &paused)
		if r := do(t, "POST", p.srv.URL+"/v1/tokens/"+paused.ID+"/deactivate", "Bearer "+agentSession, ""); r.status != 200 {
			t.Fatalf("deactivate: %d", r.status)
		}
		expiry := time.Now().Add(2 * time.Second).UTC()
		r = do(t, "POST", p.srv.URL+"/v1/tokens", "Bearer "+agentSession, fmt.Sprintf(`{"name":"Open House Trial","expiresAt":%q}`, expiry.Format(time.RFC3339Nano)))
		if err := json.Unmarshal([]byte(r.body), &expiring); r.status != 201 || err != nil {
			t.Fatalf("create an expiring token: %d %s", r.status, r.shown())
		}

		other := p.tab(t)
		other.signIn(t, "agent-3", "env-b", false)
		if row := other.rowText(t, theirs.ID); row != "" {
			t.Errorf("agent-3 sees agent-2's token: %q", row)
		}

		admin := p.tab(t)
		admin.signIn(t, "admin-1", "env-b", true)
		admin.run(t, "+New", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")))
		if types := eval[[]string](t, admin, `[...document.querySelectorAll("#create-type option")].map(o => o.textContent)`); strings.Join(types, ",") != "User,Admin" {
			t.Errorf("an admin's types = %v, want User and Admin", types)
		}
		admin.run(t, "an Admin token", chromedp.SendKeys(chromedp.ID("create-name"), "Office Reports"),
			chromedp.SetValue(chromedp.ID("create-type"), "admin"), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("key-dialog")), chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		if got := eval[string](t, admin, `document.querySelector("#token-rows .badge-admin")?.textContent ?? ""`); got != "Admin" {
			t.Errorf("the Admin token's row has no Admin badge (%q)", got)
		}
		if row := admin.rowText(t, theirs.ID); row != "" {
			t.Errorf("Mine lists agent-2's token: %q", row)
		}
		admin.run(t, "Everyone", chromedp.SetValue(chromedp.ID("owner-filter"), "all"),
			js(`document.getElementById("owner-filter").dispatchEvent(new Event("change"))`),
			chromedp.WaitVisible(chromedp.CSS(kebab(theirs.ID))))
		if row := admin.rowText(t, theirs.ID); !strings.Contains(row, "agent-2") || strings.Contains(row, "Never") {
			t.Errorf("Everyone: agent-2's row %q lacks its owner or its last use", row)
		}
		if row := admin.rowText(t, paused.ID); !strings.Contains(row, "inactive") {
			t.Errorf("the deactivated token's row %q, want inactive", row)
		}
		time.Sleep(time.Until(expiry))
		admin.run(t, "reload Everyone", js(`document.getElementById("owner-filter").dispatchEvent(new Event("change"))`),
			poll(fmt.Sprintf(`document.querySelector('tr[data-id=%q] .badge')?.textContent === "expired"`, expiring.ID), 10*time.Second))
		admin.screenshot(t, "list-admin-everyone")
		items := admin.menuItems(t, theirs.ID)
		if contains(items, "View key") || !contains(items, "Deactivate") || !contains(items, "Delete") {
			t.Errorf("admin's menu on agent-2's token = %v, want no View key, with Deactivate and Delete", items)
		}
		admin.run(t, "close menu", chromedp.KeyEvent(kb.Escape))

		// One user: the filter takes a user id.
		admin.run(t, "one user", chromedp.SetValue(chromedp.ID("owner-filter"), "user"),
			js(`document.getElementById("owner-filter").dispatchEvent(new Event("change"))`),
			chromedp.SendKeys(chromedp.ID("owner-user"), "agent-2"), chromedp.Click(chromedp.ID("owner-user-show")),
			poll(`(rows => rows.length === 3 && rows.every(r => r.querySelector(".owner-col").textContent === "agent-2"))([...document.querySelectorAll("tr[data-id]")])`, 10*time.Second))
		if row := admin.rowText(t, theirs.ID); row == "" {
			t.Error("filter agent-2 does not list agent-2's token")
		}
	})

	t.Run("paged list, a refused filter, sign-out", func(t *testing.T) {
		session, err := p.srv.Mint("agent-5", "env-b", false)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 21 {
			if r := do(t, "POST", p.srv.URL+"/v1/tokens", "Bearer "+session, fmt.Sprintf(`{"name":"Feed %02d"}`, i)); r.status != 201 {
				t.Fatalf("create %d: %d", i, r.status)
			}
		}
		b := p.tab(t)
		b.signIn(t, "agent-5", "env-b", false)
		if n := eval[int](t, b, `document.querySelectorAll("tr[data-id]").length`); n != 20 {
			t.Errorf("first page = %d rows, want 20", n)
		}
		if first := eval[string](t, b, `document.querySelector("tr[data-id] .token-name").textContent`); first != "Feed 20" {
			t.Errorf("first row = %q, want the newest, Feed 20", first)
		}
		b.run(t, "Show more", chromedp.Click(chromedp.ID("more")), poll(`document.querySelectorAll("tr[data-id]").length === 21`, 10*time.Second))
		if eval[bool](t, b, `!document.getElementById("more").hidden`) {
			t.Error("Show more still offered after the last page")
		}

		admin := p.tab(t)
		admin.signIn(t, "admin-5", "env-b", true)
		admin.run(t, "a user id the API refuses", chromedp.SetValue(chromedp.ID("owner-filter"), "user"),
			js(`document.getElementById("owner-filter").dispatchEvent(new Event("change"))`),
			chromedp.SendKeys(chromedp.ID("owner-user"), "agent#5"), chromedp.Click(chromedp.ID("owner-user-show")),
			chromedp.WaitVisible(chromedp.ID("list-problem")))
		if got := eval[string](t, admin, `document.getElementById("list-problem").textContent`); !strings.Contains(got, "owner must be") || !strings.Contains(got, "Try again") {
			t.Errorf("list problem = %q, want the API's detail and Try again", got)
		}

		b.run(t, "Sign out", chromedp.Click(chromedp.ID("account-button")), chromedp.WaitVisible(chromedp.ID("account-menu")),
			chromedp.Click(chromedp.Search(`//ul[@id="account-menu"]//button[.="Sign out"]`)), chromedp.WaitVisible(chromedp.ID("signed-out")))
		if eval[bool](t, b, `sessionStorage.getItem("apitokens.session") !== null`) {
			t.Error("the session outlives Sign out")
		}
		if n := eval[int](t, b, `document.querySelectorAll("tr[data-id]").length`); n != 0 {
			t.Errorf("%d rows still in the page after Sign out", n)
		}
	})

	t.Run("keyboard alone: create, then the three-dot menu", func(t *testing.T) {
		b := p.tab(t)
		b.signIn(t, "agent-kb", "env-b", false)
		const activeJS = `(e => e.id || e.dataset.token || e.getAttribute("role") + ":" + e.textContent)(document.activeElement)`
		active := func() string { return eval[string](t, b, activeJS) }
		// settle waits for focus to move to want: a dialog returns focus on its close event.
		settle := func(want string) string {
			ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
			defer cancel()
			_ = chromedp.Do(ctx, poll(fmt.Sprintf(`%s === %q`, activeJS, want), 3*time.Second))
			return active()
		}
		// tabTo presses Tab until focus is on want, at most 30 times.
		tabTo := func(want func(string) bool, what string) {
			t.Helper()
			for range 30 {
				if want(active()) {
					return
				}
				b.run(t, "Tab", chromedp.KeyEvent(kb.Tab))
			}
			t.Fatalf("Tab never reached %s (focus on %q)", what, active())
		}
		tabTo(func(s string) bool { return s == "new-token" }, "+New")
		b.run(t, "Enter on +New", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("create-dialog")))
		if got := active(); got != "create-name" {
			t.Fatalf("focus in Create Token on %q, want the name", got)
		}
		b.run(t, "type and Enter", chromedp.KeyEvent("By keyboard"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("key-dialog")))
		if got := active(); got != "key-copy" {
			t.Errorf("focus in the key window on %q, want Copy", got)
		}
		b.run(t, "Tab to Close, Enter", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		if got := settle("new-token"); got != "new-token" {
			t.Errorf("focus after Close on %q, want +New", got)
		}
		id := eval[string](t, b, `document.querySelector("tr[data-id]").dataset.id`)
		tabTo(func(s string) bool { return s == id }, "the token's menu button")
		b.run(t, "Enter opens the menu", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("token-menu")))
		if got := active(); got != "menuitem:Edit" {
			t.Errorf("focus in the menu on %q, want Edit", got)
		}
		steps := []struct{ key, want string }{
			{kb.ArrowDown, "menuitem:View key"}, {kb.End, "menuitem:Delete"}, {kb.ArrowDown, "menuitem:Edit"},
			{kb.ArrowUp, "menuitem:Delete"}, {kb.Home, "menuitem:Edit"}, {kb.Escape, id},
		}
		for _, s := range steps {
			b.run(t, "key", chromedp.KeyEvent(s.key))
			if got := active(); got != s.want {
				t.Errorf("after %q focus on %q, want %q", s.key, got, s.want)
			}
		}
		if eval[bool](t, b, `!document.getElementById("token-menu").hidden`) {
			t.Error("Escape left the menu open")
		}
		// Deactivate by keyboard: focus comes back to the menu button.
		b.run(t, "menu, Deactivate", chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
		b.waitRow(t, id, "inactive")
		if got := settle(id); got != id {
			t.Errorf("focus after Deactivate on %q, want the menu button", got)
		}
		// Delete's confirmation opens on Cancel; Escape closes it and focus comes back.
		b.run(t, "menu, Delete", chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent(kb.End), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("delete-dialog")))
		if got := active(); !strings.HasSuffix(got, ":Cancel") {
			t.Errorf("focus in the confirmation on %q, want Cancel", got)
		}
		b.run(t, "Escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("delete-dialog")))
		if got := settle(id); got != id {
			t.Errorf("focus after the confirmation on %q, want the menu button", got)
		}
		if b.rowText(t, id) == "" {
			t.Error("Escape on the confirmation deleted the token")
		}
	})

	t.Run("an expired session signs in again and keeps what was typed", func(t *testing.T) {
		b := p.tab(t)
		b.signIn(t, "agent-4", "env-b", false)
		// A session the API refuses (expired an hour ago), with claims the page still trusts:
		// the refusal, not the page's clock, sends the person back to sign in.
		expired, err := p.srv.idp.Mint(devidp.Session{User: "agent-4", Environment: "env-b", Groups: []string{agentGroup}, Audience: p.srv.app.JWTAuthorizers["Session"].Audience[0], TTL: time.Minute},
			devidp.SessionClaims{Environment: "custom:environment_id", Groups: "cognito:groups"}, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		b.run(t, "type a name, the session expires, Save",
			chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")),
			chromedp.SendKeys(chromedp.ID("create-name"), "Mailchimp"),
			js(fmt.Sprintf(`(() => { const s = JSON.parse(sessionStorage.getItem("apitokens.session")); s.idToken = %q; sessionStorage.setItem("apitokens.session", JSON.stringify(s)); })()`, expired)),
			chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("environment")), // the provider's form
			chromedp.SetValue(chromedp.ID("user"), "agent-4"), chromedp.SetValue(chromedp.ID("environment"), "env-b"),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.ID("create-dialog")))
		if got := eval[string](t, b, `document.getElementById("create-name").value`); got != "Mailchimp" {
			t.Errorf("name after signing in again = %q, want Mailchimp", got)
		}
		if eval[bool](t, b, `document.getElementById("create-restored").hidden`) {
			t.Error("the window does not say why it came back")
		}
		b.run(t, "Save", chromedp.Click(chromedp.ID("create-save")), chromedp.WaitVisible(chromedp.ID("key-dialog")))
		if eval[string](t, b, `location.search`) != "" {
			t.Error("the sign-in code stayed in the address bar")
		}
	})

	t.Run("roll key with an hour of grace, then end the previous key now", func(t *testing.T) {
		b := p.tab(t)
		b.signIn(t, "agent-roll", "env-b", false)
		id, oldKey := b.createToken(t, "Zapier Sync", false)
		b.run(t, "watch rolls", js(watchRolls))

		b.choose(t, id, "Roll key")
		b.run(t, "roll window", chromedp.WaitVisible(chromedp.ID("roll-dialog")))
		if got := eval[[]string](t, b, graceChoices); strings.Join(got, "|") != "No longer: it stops now|For 1 hour|For 24 hours|For 7 days" {
			t.Errorf("grace choices = %q, want now, 1 hour, 24 hours, 7 days", got)
		}
		if got := eval[string](t, b, `document.activeElement.name + "=" + document.activeElement.value`); got != "grace=3600" {
			t.Errorf("focus in the roll window on %q, want the checked grace", got)
		}
		if got := eval[string](t, b, `document.getElementById("roll-title").textContent`); got != "Roll the key of “Zapier Sync”" {
			t.Errorf("roll window title = %q, want it to name the token", got)
		}
		// Cancel rolls nothing.
		b.run(t, "Cancel", chromedp.Click(chromedp.CSS(`#roll-dialog [data-close]`)), chromedp.WaitNotVisible(chromedp.ID("roll-dialog")))
		if n := eval[int](t, b, `window.rollKeys.length`); n != 0 {
			t.Fatalf("Cancel sent %d rolls", n)
		}
		b.choose(t, id, "Roll key")
		b.run(t, "1 hour", chromedp.WaitVisible(chromedp.ID("roll-dialog")), chromedp.Click(chromedp.CSS(`#roll-grace input[value="86400"]`)),
			chromedp.Click(chromedp.CSS(`#roll-grace input[value="3600"]`)))
		b.screenshot(t, "roll-key")
		rolledAt := time.Now()
		b.run(t, "Roll key", chromedp.Click(chromedp.ID("roll-confirm")), chromedp.WaitVisible(chromedp.ID("key-dialog")))
		if sent := eval[[]string](t, b, `window.rollKeys`); len(sent) != 1 || !regexp.MustCompile(`^roll-[0-9a-f]{32}$`).MatchString(sent[0]) {
			t.Errorf("rolls sent with Idempotency-Keys %q, want one random key", sent)
		}
		note := eval[string](t, b, `document.getElementById("key-previous").textContent`)
		if !strings.Contains(note, "previous key keeps working until") || eval[bool](t, b, `document.getElementById("key-previous").hidden`) {
			t.Errorf("key window note = %q, want until when the previous key works", note)
		}
		b.screenshot(t, "roll-key-window")
		newKey := b.copyKey(t)
		if newKey == oldKey {
			t.Fatal("the roll showed the previous key")
		}
		b.run(t, "Close", chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")),
			poll(fmt.Sprintf(`document.activeElement.dataset.token === %q`, id), 5*time.Second))
		if v := eval[string](t, b, `document.getElementById("key-value").value`); v != "" {
			t.Error("the key window still holds the new key after Close")
		}

		// The row shows the previous key's hint and when it ends, about an hour from now.
		b.waitRow(t, id, "Previous key")
		prev := eval[string](t, b, fmt.Sprintf(`document.querySelector('tr[data-id=%q] .previous-hint').textContent`, id))
		if m := hintPattern.FindStringSubmatch(prev); m == nil || !strings.HasPrefix(oldKey, m[1]) || !strings.HasSuffix(oldKey, m[2]) {
			t.Errorf("previous key hint %q does not match the previous key", prev)
		}
		ends, err := time.Parse(time.RFC3339Nano, eval[string](t, b, fmt.Sprintf(`document.querySelector('tr[data-id=%q] .previous-key time').dateTime`, id)))
		if err != nil || ends.Sub(rolledAt) < 59*time.Minute || ends.Sub(rolledAt) > 61*time.Minute {
			t.Errorf("previous key ends %v (%v), want an hour after the roll", ends, err)
		}
		b.screenshot(t, "list-previous-key")
		if s, name := me(t, p.srv.URL, newKey); s != 200 || name != "Zapier Sync" {
			t.Errorf("/v1/me with the new key: %d %q, want 200 Zapier Sync", s, name)
		}
		if s, name := me(t, p.srv.URL, oldKey); s != 200 || name != "Zapier Sync" {
			t.Errorf("/v1/me with the previous key during its grace: %d %q, want 200 Zapier Sync", s, name)
		}

		b.choose(t, id, "End previous key now")
		b.run(t, "previous key ended", poll(fmt.Sprintf(`document.querySelector('tr[data-id=%q]') && !document.querySelector('tr[data-id=%q] .previous-key')`, id, id), 10*time.Second))
		within(t, p.srv.URL, oldKey, "end previous key now", 403)
		if s, _ := me(t, p.srv.URL, newKey); s != 200 {
			t.Errorf("/v1/me with the new key after the previous one ended: %d, want 200", s)
		}
		if got := settleFocus(b, id); got != id {
			t.Errorf("focus after End previous key now on %q, want the menu button", got)
		}
		if items := b.menuItems(t, id); contains(items, "End previous key now") {
			t.Errorf("menu after the grace ended = %v, want no End previous key now", items)
		}
		b.run(t, "close menu", chromedp.KeyEvent(kb.Escape))

		// An administrator sees the token but cannot roll its key.
		admin := p.tab(t)
		admin.signIn(t, "admin-roll", "env-b", true)
		admin.run(t, "Everyone", chromedp.SetValue(chromedp.ID("owner-filter"), "all"),
			js(`document.getElementById("owner-filter").dispatchEvent(new Event("change"))`),
			chromedp.WaitVisible(chromedp.CSS(kebab(id))))
		if items := admin.menuItems(t, id); contains(items, "Roll key") {
			t.Errorf("admin's menu on an agent's token = %v, want no Roll key", items)
		}
	})

	t.Run("a leaked key: the badge, Activate refused, Roll key now", func(t *testing.T) {
		b := p.tab(t)
		b.signIn(t, "agent-leak", "env-b", false)
		id, key := b.createToken(t, "GitHub Actions", false)
		reportedAt := time.Now()
		reportLeak(t, p.srv, key)
		within(t, p.srv.URL, key, "leak report", 403)

		b.run(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("tokens")),
			chromedp.WaitNotPresent(chromedp.CSS(`#token-table[aria-busy]`)))
		b.waitRow(t, id, "leaked")
		const leakURL = "https://github.com/example/repo/blob/main/.env"
		badge := fmt.Sprintf(`document.querySelector('tr[data-id=%q] .badge-leaked')`, id)
		if title := eval[string](t, b, badge+`.title`); !strings.Contains(title, leakURL) {
			t.Errorf("leaked badge title = %q, want the URL", title)
		}
		detail := eval[string](t, b, fmt.Sprintf(`document.querySelector('tr[data-id=%q] .leak-detail').textContent`, id))
		if !strings.Contains(detail, leakURL) || !strings.Contains(detail, "reported") {
			t.Errorf("leak detail = %q, want the URL and when", detail)
		}
		when, err := time.Parse(time.RFC3339Nano, eval[string](t, b, fmt.Sprintf(`document.querySelector('tr[data-id=%q] .leak-detail time').dateTime`, id)))
		if err != nil || when.Sub(reportedAt).Abs() > time.Minute {
			t.Errorf("leak reported at %v (%v), want about %v", when, err, reportedAt)
		}
		if got := eval[string](t, b, fmt.Sprintf(`document.querySelector('tr[data-id=%q] .badge').textContent`, id)); got != "inactive" {
			t.Errorf("a leaked token's status = %q, want inactive", got)
		}

		// Activate is refused, and the page shows the API's own detail of key_leaked.
		session, err := p.srv.Mint("agent-leak", "env-b", false)
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, "POST", p.srv.URL+"/v1/tokens/"+id+"/activate", "Bearer "+session, "")
		var problem struct{ Code, Detail string }
		if err := json.Unmarshal([]byte(r.body), &problem); r.status != 409 || err != nil || problem.Code != "key_leaked" || problem.Detail == "" {
			t.Fatalf("activate a leaked token = %d %s, want 409 key_leaked", r.status, r.shown())
		}
		b.choose(t, id, "Activate")
		b.run(t, "key_leaked shown", chromedp.WaitVisible(chromedp.CSS(`tr.row-problem [role=alert]`)))
		if got := eval[string](t, b, `document.querySelector("tr.row-problem [role=alert]").textContent`); !strings.Contains(got, problem.Detail) || !strings.Contains(got, "Roll key") {
			t.Errorf("Activate's problem = %q, want key_leaked's detail %q and the way out", got, problem.Detail)
		}
		b.screenshot(t, "list-leaked")

		// Roll key offers no grace for a leaked key.
		b.choose(t, id, "Roll key")
		b.run(t, "roll window", chromedp.WaitVisible(chromedp.ID("roll-dialog")))
		if got := eval[[]string](t, b, graceChoices); strings.Join(got, "|") != "No longer: it stops now" {
			t.Errorf("grace choices of a leaked key = %q, want now only", got)
		}
		if eval[bool](t, b, `document.getElementById("roll-leaked").hidden`) {
			t.Error("the roll window does not say why there is no grace")
		}
		b.screenshot(t, "roll-key-leaked")
		b.run(t, "Roll key", chromedp.Click(chromedp.ID("roll-confirm")), chromedp.WaitVisible(chromedp.ID("key-dialog")))
		if note := eval[string](t, b, `document.getElementById("key-previous").textContent`); !strings.Contains(note, "stopped working") {
			t.Errorf("key window note = %q, want that the previous key stopped", note)
		}
		newKey := b.copyKey(t)
		b.run(t, "Close", chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		if row := b.rowText(t, id); strings.Contains(row, "leaked") || strings.Contains(row, "Previous key") {
			t.Errorf("row after the roll = %q, want no leaked badge and no previous key", row)
		}
		b.choose(t, id, "Activate")
		b.run(t, "active", poll(fmt.Sprintf(`document.querySelector('tr[data-id=%q] .badge').textContent === "active"`, id), 10*time.Second))
		within(t, p.srv.URL, newKey, "activate after the roll", 200)
		if s, _ := me(t, p.srv.URL, key); s != 403 {
			t.Errorf("/v1/me with the leaked key after the roll: %d, want 403", s)
		}
		b.run(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("tokens")),
			chromedp.WaitNotPresent(chromedp.CSS(`#token-table[aria-busy]`)), chromedp.WaitVisible(chromedp.CSS(kebab(id))))
		if row := b.rowText(t, id); strings.Contains(row, "leaked") {
			t.Errorf("row after reload = %q, want no leaked badge", row)
		}
	})

	t.Run("permissions and allowed addresses: create restricted, the row's tooltip, edit to full access", func(t *testing.T) {
		session, err := p.srv.Mint("agent-lp", "env-lp1", false)
		if err != nil {
			t.Fatal(err)
		}
		b := p.tab(t)
		b.signIn(t, "agent-lp", "env-lp1", false)
		b.run(t, "+New", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")),
			chromedp.SendKeys(chromedp.ID("create-name"), "Contacts sync"))
		if !eval[bool](t, b, `document.getElementById("create-full").checked && document.getElementById("create-resources").hidden`) {
			t.Error("a new token does not start with Full access and its resource choices hidden")
		}
		// The resources and levels on offer are the catalogue's, as GET /v1/policy answers it.
		if got, want := eval[[]string](t, b, resourceChoices("create")), catalogueChoices(t, p.srv.URL, session); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("resource choices = %q, want the catalogue's %q", got, want)
		}
		b.run(t, "Restricted, hooks Read, a CIDR the API refuses", chromedp.Click(chromedp.ID("create-restricted")),
			chromedp.WaitVisible(chromedp.ID("create-resources")), chromedp.Click(chromedp.CSS(`input[name="create-hooks"][value="hooks:read"]`)),
			chromedp.SendKeys(chromedp.ID("create-cidrs"), "10.0.0.0/33"), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("create-cidrs-problem")))
		if got := eval[string](t, b, `document.getElementById("create-cidrs-problem").textContent`); !strings.Contains(got, "CIDR") ||
			!eval[bool](t, b, `document.activeElement.id === "create-cidrs" && document.getElementById("create-cidrs").getAttribute("aria-invalid") === "true"`) {
			t.Errorf("invalid_cidr shown as %q, want the API's detail next to the field, focus on it", got)
		}
		if r := call(t, "GET", p.srv.URL+"/v1/tokens", "Bearer "+session, ""); !strings.Contains(r.body, `"items":[]`) {
			t.Fatalf("a refused create stored a token: %s", r.shown())
		}
		b.run(t, "a good CIDR, Save", chromedp.SetValue(chromedp.ID("create-cidrs"), "10.1.2.3/8"), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("key-dialog")))
		key := b.copyKey(t)
		b.run(t, "Close", chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		id := eval[string](t, b, `document.querySelector("tr[data-id]").dataset.id`)
		if perms, cidrs, _ := storedAccess(t, p.srv.URL, session, id); perms != `["hooks:read"]` || cidrs != `["10.0.0.0/8"]` {
			t.Errorf("stored permissions %s, allowedCidrs %s; want [hooks:read] and [10.0.0.0/8]", perms, cidrs)
		}
		if s, _ := me(t, p.srv.URL, key); s != 403 {
			t.Errorf("/v1/me from 127.0.0.1 with a key allowed from 10.0.0.0/8: %d, want 403", s)
		}

		// The row says Restricted; its tooltip shows on keyboard focus and on hover, Escape hides it.
		badge := fmt.Sprintf(`document.querySelector('tr[data-id=%q] .access-badge')`, id)
		tipShown := fmt.Sprintf(`getComputedStyle(document.getElementById(%s.getAttribute("aria-describedby"))).display !== "none"`, badge)
		if got := eval[string](t, b, badge+`.textContent`); got != "Restricted" {
			t.Errorf("access badge = %q, want Restricted", got)
		}
		if eval[bool](t, b, tipShown) {
			t.Error("the tooltip shows before focus or hover")
		}
		b.run(t, "focus the badge", js(badge+`.focus()`), poll(tipShown, 3*time.Second))
		tip := eval[string](t, b, fmt.Sprintf(`document.getElementById(%s.getAttribute("aria-describedby")).textContent`, badge))
		if tip != "Restricted to hooks:read. Allowed from 10.0.0.0/8." {
			t.Errorf("tooltip = %q, want the permissions and the allowed addresses", tip)
		}
		b.screenshot(t, "list-restricted-tooltip")
		b.run(t, "Escape hides it", chromedp.KeyEvent(kb.Escape), poll("!"+tipShown, 3*time.Second))
		b.run(t, "blur", js(`document.activeElement.blur()`))
		x := eval[float64](t, b, badge+`.getBoundingClientRect().x + 5`)
		y := eval[float64](t, b, badge+`.getBoundingClientRect().y + 5`)
		b.run(t, "hover", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y), poll(tipShown, 3*time.Second))
		b.run(t, "move away", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 2, 2), poll("!"+tipShown, 3*time.Second))

		// Edit: the window shows what the token holds; Full access and no addresses.
		b.choose(t, id, "Edit")
		b.run(t, "edit window", chromedp.WaitVisible(chromedp.ID("edit-dialog")))
		if got := eval[string](t, b, `[document.getElementById("edit-restricted").checked, document.querySelector('input[name="edit-hooks"]:checked').value, document.getElementById("edit-cidrs").value].join(" ")`); got != "true hooks:read 10.0.0.0/8" {
			t.Errorf("edit window holds %q, want Restricted, hooks:read, 10.0.0.0/8", got)
		}
		b.run(t, "Full access, anywhere, Save", chromedp.Click(chromedp.ID("edit-full")), chromedp.WaitNotVisible(chromedp.ID("edit-resources")),
			js(`document.getElementById("edit-cidrs").value = ""`), chromedp.Click(chromedp.ID("edit-save")), chromedp.WaitNotVisible(chromedp.ID("edit-dialog")))
		b.run(t, "row says Full access", poll(badge+`.textContent === "Full access"`, 10*time.Second))
		if perms, cidrs, _ := storedAccess(t, p.srv.URL, session, id); perms != "null" || cidrs != "null" {
			t.Errorf("after the edit: permissions %s, allowedCidrs %s; want null and null", perms, cidrs)
		}
		within(t, p.srv.URL, key, "edit to full access from anywhere", 200)
		b.run(t, "focus the badge", js(badge+`.focus()`), poll(tipShown, 3*time.Second))
		if tip := eval[string](t, b, fmt.Sprintf(`document.getElementById(%s.getAttribute("aria-describedby")).textContent`, badge)); !strings.HasPrefix(tip, "Full access") || !strings.Contains(tip, "any IP address") {
			t.Errorf("tooltip of a full-access token = %q", tip)
		}
	})

	t.Run("keyboard alone: the permissions editor, the tooltip, Edit", func(t *testing.T) {
		session, err := p.srv.Mint("agent-lpkb", "env-lp2", false)
		if err != nil {
			t.Fatal(err)
		}
		b := p.tab(t)
		b.signIn(t, "agent-lpkb", "env-lp2", false)
		const activeJS = `(e => e.id || e.dataset.token || (e.type === "radio" ? e.name + "=" + e.value : e.getAttribute("role") + ":" + e.textContent))(document.activeElement)`
		active := func() string { return eval[string](t, b, activeJS) }
		press := func(key, want string) {
			t.Helper()
			b.run(t, "key", chromedp.KeyEvent(key))
			if got := active(); got != want {
				t.Fatalf("after %q focus on %q, want %q", key, got, want)
			}
		}
		tabTo := func(want string) {
			t.Helper()
			for range 30 {
				if active() == want {
					return
				}
				b.run(t, "Tab", chromedp.KeyEvent(kb.Tab))
			}
			t.Fatalf("Tab never reached %s (focus on %q)", want, active())
		}
		tabTo("new-token")
		b.run(t, "Enter on +New", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("create-dialog")), chromedp.KeyEvent("Webhook reader"))
		press(kb.Tab, "create-type")
		press(kb.Tab, "create-expiry")
		press(kb.Tab, "create-full")
		press(kb.ArrowDown, "create-restricted")
		if eval[bool](t, b, `document.getElementById("create-resources").hidden`) {
			t.Fatal("choosing Restricted by keyboard does not show the resources")
		}
		press(kb.Tab, "create-hooks=")
		press(kb.ArrowRight, "create-hooks=hooks:read")
		press(kb.ArrowRight, "create-hooks=hooks:write")
		press(kb.ArrowLeft, "create-hooks=hooks:read")
		press(kb.Tab, "create-cidrs")
		b.run(t, "type a CIDR", chromedp.KeyEvent("192.0.2.0/24"))
		tabTo("create-save")
		b.run(t, "Space on Save", chromedp.KeyEvent(" "), chromedp.WaitVisible(chromedp.ID("key-dialog")))
		b.run(t, "Escape closes the key window", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		id := eval[string](t, b, `document.querySelector("tr[data-id]").dataset.id`)
		if perms, cidrs, _ := storedAccess(t, p.srv.URL, session, id); perms != `["hooks:read"]` || cidrs != `["192.0.2.0/24"]` {
			t.Fatalf("stored permissions %s, allowedCidrs %s; want [hooks:read] and [192.0.2.0/24]", perms, cidrs)
		}
		// Tab reaches the row's access badge: its tooltip shows; Escape hides it, focus stays.
		b.run(t, "back to +New", js(`document.getElementById("new-token").focus()`))
		for range 30 {
			if eval[bool](t, b, `document.activeElement.classList.contains("access-badge")`) {
				break
			}
			b.run(t, "Tab", chromedp.KeyEvent(kb.Tab))
		}
		tip := `(e => e.classList.contains("access-badge") && getComputedStyle(document.getElementById(e.getAttribute("aria-describedby"))).display !== "none")(document.activeElement)`
		if !eval[bool](t, b, tip) {
			t.Fatalf("Tab to the access badge shows no tooltip (focus on %q)", active())
		}
		b.run(t, "Escape", chromedp.KeyEvent(kb.Escape))
		if eval[bool](t, b, tip) || !eval[bool](t, b, `document.activeElement.classList.contains("access-badge")`) {
			t.Error("Escape does not hide the tooltip, or moves focus")
		}
		// Edit by keyboard: Escape first changes nothing, then Write and Save with Enter.
		tabTo(id)
		b.run(t, "menu, Edit", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("token-menu")), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.ID("edit-dialog")))
		if got := active(); got != "edit-name" {
			t.Errorf("focus in Edit on %q, want the name", got)
		}
		b.run(t, "Escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("edit-dialog")))
		if got := settleFocus(b, id); got != id {
			t.Errorf("focus after Escape on %q, want the menu button", got)
		}
		b.run(t, "menu, Edit", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("token-menu")), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.ID("edit-dialog")))
		press(kb.Tab, "edit-restricted")
		press(kb.Tab, "edit-hooks=hooks:read")
		press(kb.ArrowRight, "edit-hooks=hooks:write")
		b.run(t, "Enter saves", chromedp.KeyEvent(kb.Enter), chromedp.WaitNotVisible(chromedp.ID("edit-dialog")))
		if got := settleFocus(b, id); got != id {
			t.Errorf("focus after Save on %q, want the menu button", got)
		}
		if perms, cidrs, _ := storedAccess(t, p.srv.URL, session, id); perms != `["hooks:write"]` || cidrs != `["192.0.2.0/24"]` {
			t.Errorf("after the edit: permissions %s, allowedCidrs %s; want [hooks:write] and the CIDR kept", perms, cidrs)
		}
	})

	t.Run("the policy window saves; an agent's create is then refused with the policy's rule", func(t *testing.T) {
		admin := p.tab(t)
		adminSession, err := p.srv.Mint("admin-lp", "env-lp3", true)
		if err != nil {
			t.Fatal(err)
		}
		agentSession, err := p.srv.Mint("agent-lp3", "env-lp3", false)
		if err != nil {
			t.Fatal(err)
		}
		// A rate limit set through the API, which the window keeps; an agent's token made before.
		if r := call(t, "PUT", p.srv.URL+"/v1/policy", "Bearer "+adminSession, `{"maxRateLimit":{"requests":100,"windowSeconds":60}}`); r.status != 200 {
			t.Fatalf("put policy: %d %s", r.status, r.shown())
		}
		var older struct{ ID string }
		_ = json.Unmarshal([]byte(call(t, "POST", p.srv.URL+"/v1/tokens", "Bearer "+agentSession, `{"name":"Made before"}`).body), &older)
		agent := p.tab(t)
		agent.signIn(t, "agent-lp3", "env-lp3", false)
		if !eval[bool](t, agent, `document.getElementById("policy-open").hidden`) {
			t.Error("an agent is offered the Policy window")
		}

		admin.signIn(t, "admin-lp", "env-lp3", true)
		admin.run(t, "Policy", chromedp.Click(chromedp.ID("policy-open")), chromedp.WaitVisible(chromedp.ID("policy-dialog")),
			poll(policyRead, 10*time.Second))
		got := eval[string](t, admin, `[document.getElementById("policy-lifetime").value, document.getElementById("policy-full").checked,
			document.querySelector('input[name="policy-hooks"]:checked').value, document.getElementById("policy-cidrs").checked].join(" ")`)
		if got != " true hooks:write false" {
			t.Errorf("policy window holds %q, want the defaults (no maximum, full access, hooks:write, no allowlist)", got)
		}
		if rate := eval[string](t, admin, `["policy-default-rate", "policy-max-rate", "policy-max-rate-requests", "policy-max-rate-window"].map(i => document.getElementById(i).value).join(" ")`); rate != "none limit 100 60" {
			t.Errorf("rate limits shown as %q, want no default and a maximum of 100 per 60 s", rate)
		}
		admin.screenshot(t, "policy-window")
		admin.run(t, "0 days", chromedp.SendKeys(chromedp.ID("policy-lifetime"), "0"), chromedp.Click(chromedp.ID("policy-save")),
			chromedp.WaitVisible(chromedp.ID("policy-lifetime-problem")))
		if got := eval[string](t, admin, `document.getElementById("policy-lifetime-problem").textContent`); !strings.Contains(got, "maxLifetimeDays") {
			t.Errorf("invalid_policy shown as %q, want the API's detail next to the field", got)
		}
		admin.run(t, "30 days, no full access, hooks Read, Save", chromedp.SetValue(chromedp.ID("policy-lifetime"), "30"),
			chromedp.Click(chromedp.ID("policy-full")), chromedp.Click(chromedp.CSS(`input[name="policy-hooks"][value="hooks:read"]`)),
			chromedp.Click(chromedp.ID("policy-save")), chromedp.WaitNotVisible(chromedp.ID("policy-dialog")),
			poll(`!document.getElementById("list-note").hidden && document.getElementById("list-note").textContent.startsWith("Policy saved")`, 10*time.Second))
		r := call(t, "GET", p.srv.URL+"/v1/policy", "Bearer "+agentSession, "")
		for _, want := range []string{`"maxLifetimeDays":30`, `"agentFullAccess":false`, `"agentPermissions":["hooks:read"]`, `"requireAllowedCidrs":false`, `"maxRateLimit":{"requests":100,"windowSeconds":60}`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("policy after Save %s lacks %s", r.body, want)
			}
		}

		// The agent's page read the policy before the change: the API refuses, and says why.
		agent.run(t, "+New, Full access, never expires", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")),
			chromedp.SendKeys(chromedp.ID("create-name"), "Too much"), chromedp.Click(chromedp.ID("create-save")), chromedp.WaitVisible(chromedp.ID("create-problem")))
		if got := eval[string](t, agent, `document.getElementById("create-problem").textContent`); !strings.HasPrefix(got, "maxLifetimeDays:") {
			t.Errorf("policy_violation shown as %q, want the policy's rule", got)
		}
		agent.run(t, "in 30 days", chromedp.SetValue(chromedp.ID("create-expiry"), "30"), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("create-permissions-problem")))
		if got := eval[string](t, agent, `document.getElementById("create-permissions-problem").textContent`); !strings.HasPrefix(got, "agentFullAccess:") {
			t.Errorf("permission_not_allowed shown as %q, want the policy's rule next to Permissions", got)
		}
		agent.run(t, "hooks Write", chromedp.Click(chromedp.ID("create-restricted")), chromedp.Click(chromedp.CSS(`input[name="create-hooks"][value="hooks:write"]`)),
			chromedp.Click(chromedp.ID("create-save")), poll(`document.getElementById("create-permissions-problem").textContent.startsWith("agentPermissions:")`, 10*time.Second))
		if r := call(t, "GET", p.srv.URL+"/v1/tokens", "Bearer "+agentSession, ""); strings.Count(r.body, `"id":"tok_`) != 1 {
			t.Errorf("refused creates stored tokens: %s", r.shown())
		}
		agent.run(t, "hooks Read", chromedp.Click(chromedp.CSS(`input[name="create-hooks"][value="hooks:read"]`)), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("key-dialog")), chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))

		// Reloaded, the page offers only what the policy lets an agent grant, and shows the older
		// token outside it with the rule it breaks.
		agent.run(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("tokens")), chromedp.WaitNotPresent(chromedp.CSS(`#token-table[aria-busy]`)))
		agent.waitRow(t, older.ID, "outside policy")
		if row := agent.rowText(t, older.ID); !strings.Contains(row, "maxLifetimeDays: tokens of this environment need an expiry") {
			t.Errorf("the older token's row %q lacks the rule it breaks", row)
		}
		agent.run(t, "+New", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")))
		offered := eval[string](t, agent, `[document.getElementById("create-full").disabled, document.getElementById("create-restricted").checked,
			document.querySelector('input[name="create-hooks"][value="hooks:write"]').disabled, document.getElementById("create-expiry-help").textContent].join(" | ")`)
		if offered != "true | true | true | Your environment's policy: a token needs an expiry, at most 30 days away." {
			t.Errorf("create window under the policy = %q", offered)
		}
		agent.screenshot(t, "create-token-policy")
	})

	t.Run("limits: create with a rate limit and a quota, the row, edit to no quota", func(t *testing.T) {
		session, err := p.srv.Mint("agent-lim1", "env-lim1", false)
		if err != nil {
			t.Fatal(err)
		}
		b := p.tab(t)
		b.signIn(t, "agent-lim1", "env-lim1", false)
		b.run(t, "+New", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")),
			chromedp.SendKeys(chromedp.ID("create-name"), "Metered"))
		// No policy: no default to offer, and no limit unless one is chosen.
		if got := eval[string](t, b, `[...document.getElementById("create-rate").options].map(o => o.value).join(",") + " " + document.getElementById("create-rate").value`); got != "none,limit none" {
			t.Errorf("rate limit choices without a policy = %q, want none,limit with none chosen", got)
		}
		b.run(t, "At most 0 per minute", selectValue("create-rate", "limit"), chromedp.WaitVisible(chromedp.ID("create-rate-requests")),
			chromedp.SendKeys(chromedp.ID("create-rate-requests"), "0"), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("create-rate-problem")))
		if got := eval[string](t, b, `document.getElementById("create-rate-problem").textContent`); !strings.Contains(got, "windowSeconds") ||
			!eval[bool](t, b, `document.activeElement.id === "create-rate-requests" && document.activeElement.getAttribute("aria-invalid") === "true"`) {
			t.Errorf("invalid_rate_limit shown as %q, want the API's detail next to the field, focus on the number", got)
		}
		if r := call(t, "GET", p.srv.URL+"/v1/tokens", "Bearer "+session, ""); !strings.Contains(r.body, `"items":[]`) {
			t.Fatalf("a refused create stored a token: %s", r.shown())
		}
		b.run(t, "30 per minute, 40 a month, Save", chromedp.SetValue(chromedp.ID("create-rate-requests"), "30"),
			chromedp.SendKeys(chromedp.ID("create-quota"), "40"), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("key-dialog")), chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		id := eval[string](t, b, `document.querySelector("tr[data-id]").dataset.id`)
		if rate, quota := storedLimits(t, p.srv.URL, session, id); rate != `{"requests":30,"windowSeconds":60}` || quota != `{"requestsPerMonth":40}` {
			t.Errorf("stored rateLimit %s, quota %s; want 30 per 60 s and 40 a month", rate, quota)
		}
		b.waitRow(t, id, "30 per minute · 40 a month")
		badge := fmt.Sprintf(`document.querySelector('tr[data-id=%q] .access-badge')`, id)
		if tip := eval[string](t, b, fmt.Sprintf(`document.getElementById(%s.getAttribute("aria-describedby")).textContent`, badge)); !strings.HasSuffix(tip, "Rate limit: 30 per minute. Quota: 40 a month.") {
			t.Errorf("tooltip = %q, want the limits at its end", tip)
		}
		b.screenshot(t, "list-limits")

		// Edit shows the limits held; clearing the quota sends the quota alone.
		b.run(t, "watch edits", js(watchEdits))
		b.choose(t, id, "Edit")
		b.run(t, "edit window", chromedp.WaitVisible(chromedp.ID("edit-dialog")))
		if got := eval[string](t, b, `["edit-rate", "edit-rate-requests", "edit-rate-window", "edit-quota"].map(i => document.getElementById(i).value).join(" ")`); got != "limit 30 60 40" {
			t.Errorf("edit window holds %q, want limit 30 60 40", got)
		}
		b.screenshot(t, "edit-limits")
		b.run(t, "no quota, Save", js(`document.getElementById("edit-quota").value = ""`), chromedp.Click(chromedp.ID("edit-save")),
			chromedp.WaitNotVisible(chromedp.ID("edit-dialog")))
		b.run(t, "row without the quota", poll(fmt.Sprintf(`!document.querySelector('tr[data-id=%q]').textContent.includes("a month")`, id), 10*time.Second))
		if sent := eval[[]string](t, b, `window.edits`); len(sent) != 1 || sent[0] != `{"quota":null}` {
			t.Errorf("edit sent %q, want only {\"quota\":null}", sent)
		}
		if rate, quota := storedLimits(t, p.srv.URL, session, id); rate != `{"requests":30,"windowSeconds":60}` || quota != "null" {
			t.Errorf("after the edit: rateLimit %s, quota %s; want the rate limit kept and no quota", rate, quota)
		}
		b.waitRow(t, id, "30 per minute")
	})

	t.Run("limits under a policy: the Policy window sets them, a create above the maximum is refused", func(t *testing.T) {
		agentSession, err := p.srv.Mint("agent-lim2", "env-lim2", false)
		if err != nil {
			t.Fatal(err)
		}
		admin := p.tab(t)
		admin.signIn(t, "admin-lim2", "env-lim2", true)
		admin.run(t, "Policy", chromedp.Click(chromedp.ID("policy-open")), chromedp.WaitVisible(chromedp.ID("policy-dialog")),
			poll(policyRead, 10*time.Second))
		if got := eval[string](t, admin, `document.getElementById("policy-default-rate").value + " " + document.getElementById("policy-max-rate").value`); got != "none none" {
			t.Errorf("rate limits of a new policy = %q, want none none", got)
		}
		// A default above the maximum: the API's invalid_rate_limit next to the default.
		admin.run(t, "max 60 per minute, default 10 per second", selectValue("policy-max-rate", "limit"), chromedp.SendKeys(chromedp.ID("policy-max-rate-requests"), "60"),
			selectValue("policy-default-rate", "limit"), chromedp.SendKeys(chromedp.ID("policy-default-rate-requests"), "10"),
			selectValue("policy-default-rate-window", "1"), chromedp.Click(chromedp.ID("policy-save")), chromedp.WaitVisible(chromedp.ID("policy-default-rate-problem")))
		if got := eval[string](t, admin, `document.getElementById("policy-default-rate-problem").textContent`); !strings.Contains(got, "defaultRateLimit no more than maxRateLimit") {
			t.Errorf("invalid_rate_limit shown as %q, want the API's detail next to the default", got)
		}
		admin.run(t, "default 30 per minute, Save", chromedp.SetValue(chromedp.ID("policy-default-rate-requests"), "30"), selectValue("policy-default-rate-window", "60"),
			chromedp.Click(chromedp.ID("policy-save")), chromedp.WaitNotVisible(chromedp.ID("policy-dialog")))
		r := call(t, "GET", p.srv.URL+"/v1/policy", "Bearer "+agentSession, "")
		for _, want := range []string{`"defaultRateLimit":{"requests":30,"windowSeconds":60}`, `"maxRateLimit":{"requests":60,"windowSeconds":60}`,
			`"maxLifetimeDays":null`, `"agentFullAccess":true`, `"requireAllowedCidrs":false`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("policy after Save %s lacks %s", r.body, want)
			}
		}

		agent := p.tab(t)
		agent.signIn(t, "agent-lim2", "env-lim2", false)
		agent.run(t, "+New", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")),
			chromedp.SendKeys(chromedp.ID("create-name"), "Too fast"))
		got := eval[string](t, agent, `document.getElementById("create-rate").selectedOptions[0].textContent + " | " + document.getElementById("create-rate-help").textContent`)
		if !strings.HasPrefix(got, "Your environment's default: 30 per minute | ") || !strings.Contains(got, "gets 30 per minute") || !strings.Contains(got, "at most 60 per minute") {
			t.Errorf("create under the policy = %q, want the default chosen and the default and maximum in the help", got)
		}
		agent.run(t, "100 per minute", selectValue("create-rate", "limit"), chromedp.SendKeys(chromedp.ID("create-rate-requests"), "100"),
			chromedp.Click(chromedp.ID("create-save")), chromedp.WaitVisible(chromedp.ID("create-rate-problem")))
		if got := eval[string](t, agent, `document.getElementById("create-rate-problem").textContent`); !strings.HasPrefix(got, "maxRateLimit:") {
			t.Errorf("policy_violation shown as %q, want the API's rule next to the rate limit", got)
		}
		agent.screenshot(t, "create-token-limits")
		agent.run(t, "No limit", selectValue("create-rate", "none"), chromedp.Click(chromedp.ID("create-save")),
			poll(`document.getElementById("create-rate-problem").textContent.startsWith("maxRateLimit:")`, 10*time.Second))
		if r := call(t, "GET", p.srv.URL+"/v1/tokens", "Bearer "+agentSession, ""); !strings.Contains(r.body, `"items":[]`) {
			t.Fatalf("refused creates stored a token: %s", r.shown())
		}
		agent.run(t, "the default, Save", selectValue("create-rate", "default"), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("key-dialog")), chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		id := eval[string](t, agent, `document.querySelector("tr[data-id]").dataset.id`)
		if rate, quota := storedLimits(t, p.srv.URL, agentSession, id); rate != `{"requests":30,"windowSeconds":60}` || quota != "null" {
			t.Errorf("a create at the default stored rateLimit %s, quota %s; want the policy's 30 per 60 s", rate, quota)
		}
		agent.waitRow(t, id, "30 per minute")
	})

	t.Run("keyboard alone through the limits; axe finds no violation in them", func(t *testing.T) {
		axe := axeSource(t)
		session, err := p.srv.Mint("admin-limkb", "env-lim3", true)
		if err != nil {
			t.Fatal(err)
		}
		b := p.tab(t)
		b.signIn(t, "admin-limkb", "env-lim3", true)
		check := func(state string) {
			t.Helper()
			for _, v := range b.axe(t, axe).Violations {
				t.Errorf("%s: %s", state, v)
			}
		}
		active := func() string { return eval[string](t, b, `document.activeElement.id`) }
		press := func(key, want string) {
			t.Helper()
			b.run(t, "key", chromedp.KeyEvent(key))
			if got := active(); got != want {
				t.Fatalf("after %q focus on %q, want %q", key, got, want)
			}
		}
		b.run(t, "+New", js(`document.getElementById("new-token").focus()`), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.ID("create-dialog")), chromedp.KeyEvent("Hourly"))
		b.run(t, "to the addresses", js(`document.getElementById("create-cidrs").focus()`))
		press(kb.Tab, "create-rate")
		press(kb.ArrowDown, "create-rate")
		if got := eval[string](t, b, `document.getElementById("create-rate").value`); got != "limit" || eval[bool](t, b, `document.getElementById("create-rate-field").hidden`) {
			t.Fatalf("↓ on the rate limit chose %q, want limit with its number shown", got)
		}
		press(kb.Tab, "create-rate-requests")
		b.run(t, "type 5", chromedp.KeyEvent("5"))
		press(kb.Tab, "create-rate-window")
		press(kb.ArrowDown, "create-rate-window")
		press(kb.Tab, "create-quota")
		b.run(t, "type 1000", chromedp.KeyEvent("1000"))
		check("Create Token, a rate limit and a quota")
		b.run(t, "a quota that is no number", chromedp.KeyEvent("x"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("create-quota-problem")))
		if active() != "create-quota" {
			t.Errorf("focus after a quota that is no number on %q, want the quota", active())
		}
		check("Create Token, a refused quota")
		b.run(t, "Backspace, Enter", chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("key-dialog")),
			chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		id := eval[string](t, b, `document.querySelector("tr[data-id]").dataset.id`)
		if rate, quota := storedLimits(t, p.srv.URL, session, id); rate != `{"requests":5,"windowSeconds":3600}` || quota != `{"requestsPerMonth":1000}` {
			t.Errorf("stored rateLimit %s, quota %s; want 5 per hour and 1000 a month", rate, quota)
		}
		b.waitRow(t, id, "5 per hour · 1,000 a month")
		b.run(t, "focus the access badge", js(fmt.Sprintf(`document.querySelector('tr[data-id=%q] .access-badge').focus()`, id)))
		check("the list, limits and a tooltip shown")
		b.choose(t, id, "Edit")
		b.run(t, "Edit", chromedp.WaitVisible(chromedp.ID("edit-dialog")))
		check("Edit with limits")
		b.run(t, "close", chromedp.Click(chromedp.CSS("#edit-dialog [data-close]")), chromedp.WaitNotVisible(chromedp.ID("edit-dialog")))
		b.run(t, "Policy, a maximum", chromedp.Click(chromedp.ID("policy-open")), chromedp.WaitVisible(chromedp.ID("policy-dialog")),
			poll(policyRead, 10*time.Second), selectValue("policy-max-rate", "limit"), chromedp.WaitVisible(chromedp.ID("policy-max-rate-requests")))
		check("Policy with a maximum rate limit")
	})

	t.Run("an administrator suspends all of one user's tokens, by keyboard; and transfers one", func(t *testing.T) {
		leaver, err := p.srv.Mint("agent-leaves", "env-lp4", false)
		if err != nil {
			t.Fatal(err)
		}
		stayer, err := p.srv.Mint("agent-stays", "env-lp4", false)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		var keys []string
		for _, s := range []string{leaver, leaver, stayer} {
			var tok struct{ ID, Key string }
			_ = json.Unmarshal([]byte(call(t, "POST", p.srv.URL+"/v1/tokens", "Bearer "+s, `{"name":"Sync"}`).body), &tok)
			ids, keys = append(ids, tok.ID), append(keys, tok.Key)
		}
		admin := p.tab(t)
		adminSession, err := p.srv.Mint("admin-lp4", "env-lp4", true)
		if err != nil {
			t.Fatal(err)
		}
		admin.signIn(t, "admin-lp4", "env-lp4", true)
		admin.run(t, "Everyone", chromedp.SetValue(chromedp.ID("owner-filter"), "all"),
			js(`document.getElementById("owner-filter").dispatchEvent(new Event("change"))`), chromedp.WaitVisible(chromedp.CSS(kebab(ids[0]))))
		const item = "Suspend all of this user's tokens…"
		if items := admin.menuItems(t, ids[0]); !contains(items, item) || !contains(items, "Transfer…") {
			t.Errorf("admin's menu on an agent's token = %v, want %s and Transfer…", items, item)
		}
		admin.run(t, "close menu", chromedp.KeyEvent(kb.Escape))
		// Keyboard: the menu item, Escape on the confirmation (nothing suspended), then Space.
		openConfirm := func() {
			t.Helper()
			admin.run(t, "menu by keyboard", js(fmt.Sprintf(`document.querySelector(%q).focus()`, kebab(ids[0]))), chromedp.KeyEvent(kb.Enter),
				chromedp.WaitVisible(chromedp.ID("token-menu")), chromedp.KeyEvent(kb.End), chromedp.KeyEvent(kb.ArrowUp))
			if got := eval[string](t, admin, `document.activeElement.textContent`); got != item {
				t.Fatalf("focus on %q, want %s", got, item)
			}
			admin.run(t, "Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("suspend-dialog")))
			if got := eval[string](t, admin, `document.getElementById("suspend-title").textContent + " | " + document.activeElement.textContent`); got != "Suspend every token of “agent-leaves”? | Cancel" {
				t.Errorf("confirmation = %q, want it to name the user, focus on Cancel", got)
			}
		}
		openConfirm()
		admin.run(t, "Escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("suspend-dialog")))
		if got := settleFocus(admin, ids[0]); got != ids[0] {
			t.Errorf("focus after Escape on %q, want the menu button", got)
		}
		if _, _, status := storedAccess(t, p.srv.URL, adminSession, ids[0]); status != "active" {
			t.Fatalf("Escape on the confirmation suspended the token (%s)", status)
		}
		openConfirm()
		admin.run(t, "Tab, Space", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(" "), chromedp.WaitNotVisible(chromedp.ID("suspend-dialog")),
			poll(`document.getElementById("list-note").textContent.startsWith("Suspended 2 tokens of agent-leaves.")`, 10*time.Second))
		admin.waitRow(t, ids[1], "inactive")
		if got := settleFocus(admin, ids[0]); got != ids[0] {
			t.Errorf("focus after the suspension on %q, want the menu button", got)
		}
		for i, want := range []string{"inactive", "inactive", "active"} {
			if _, _, status := storedAccess(t, p.srv.URL, adminSession, ids[i]); status != want {
				t.Errorf("token %d: %s after suspending agent-leaves, want %s", i, status, want)
			}
		}
		within(t, p.srv.URL, keys[0], "suspend all", 403)

		// Transfer: agent-stays' token goes to agent-leaves, key unchanged.
		admin.choose(t, ids[2], "Transfer…")
		admin.run(t, "transfer", chromedp.WaitVisible(chromedp.ID("transfer-dialog")), chromedp.SendKeys(chromedp.ID("transfer-user"), "agent-leaves"),
			chromedp.Click(chromedp.ID("transfer-confirm")), chromedp.WaitNotVisible(chromedp.ID("transfer-dialog")))
		admin.waitRow(t, ids[2], "agent-leaves")
		if r := call(t, "GET", p.srv.URL+"/v1/tokens/"+ids[2], "Bearer "+leaver, ""); r.status != 200 {
			t.Errorf("the new owner reads the transferred token: %d", r.status)
		}
		if s, _ := me(t, p.srv.URL, keys[2]); s != 200 {
			t.Errorf("/v1/me with the transferred key: %d, want 200", s)
		}
	})

	t.Run("axe finds no violation in the least-privilege windows", func(t *testing.T) {
		axe := axeSource(t)
		b := p.tab(t)
		b.signIn(t, "admin-lpaxe", "env-lp5", true)
		check := func(state string) {
			t.Helper()
			for _, v := range b.axe(t, axe).Violations {
				t.Errorf("%s: %s", state, v)
			}
		}
		b.run(t, "+New, Restricted", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")),
			chromedp.Click(chromedp.ID("create-restricted")), chromedp.WaitVisible(chromedp.ID("create-resources")))
		check("Create Token, Restricted")
		b.run(t, "a refused CIDR", chromedp.SendKeys(chromedp.ID("create-name"), "Axe"), chromedp.SendKeys(chromedp.ID("create-cidrs"), "nowhere"),
			chromedp.Click(chromedp.ID("create-save")), chromedp.WaitVisible(chromedp.ID("create-cidrs-problem")))
		check("Create Token, a refused CIDR")
		b.run(t, "Save", chromedp.SetValue(chromedp.ID("create-cidrs"), "203.0.113.0/24"), chromedp.Click(chromedp.ID("create-save")),
			chromedp.WaitVisible(chromedp.ID("key-dialog")), chromedp.Click(chromedp.ID("key-close")), chromedp.WaitNotVisible(chromedp.ID("key-dialog")))
		id := eval[string](t, b, `document.querySelector("tr[data-id]").dataset.id`)
		b.run(t, "focus the access badge", js(fmt.Sprintf(`document.querySelector('tr[data-id=%q] .access-badge').focus()`, id)))
		check("the list, a tooltip shown")
		b.choose(t, id, "Edit")
		b.run(t, "Edit", chromedp.WaitVisible(chromedp.ID("edit-dialog")))
		check("Edit")
		b.run(t, "close", chromedp.Click(chromedp.CSS("#edit-dialog [data-close]")), chromedp.WaitNotVisible(chromedp.ID("edit-dialog")))
		b.run(t, "Policy", chromedp.Click(chromedp.ID("policy-open")), chromedp.WaitVisible(chromedp.ID("policy-dialog")),
			poll(policyRead, 10*time.Second))
		check("Policy")
		b.run(t, "close", chromedp.Click(chromedp.CSS("#policy-dialog [data-close]")), chromedp.WaitNotVisible(chromedp.ID("policy-dialog")))
		other, err := p.srv.Mint("agent-lpaxe", "env-lp5", false)
		if err != nil {
			t.Fatal(err)
		}
		var theirs struct{ ID string }
		_ = json.Unmarshal([]byte(call(t, "POST", p.srv.URL+"/v1/tokens", "Bearer "+other, `{"name":"Theirs"}`).body), &theirs)
		b.run(t, "Everyone", chromedp.SetValue(chromedp.ID("owner-filter"), "all"),
			js(`document.getElementById("owner-filter").dispatchEvent(new Event("change"))`), chromedp.WaitVisible(chromedp.CSS(kebab(theirs.ID))))
		for _, w := range []struct{ item, dialog string }{{"Suspend all of this user's tokens…", "suspend-dialog"}, {"Transfer…", "transfer-dialog"}} {
			b.choose(t, theirs.ID, w.item)
			b.run(t, w.item, chromedp.WaitVisible(chromedp.ID(w.dialog)))
			check(w.item)
			b.run(t, "close", chromedp.Click(chromedp.CSS("#"+w.dialog+" [data-close]")), chromedp.WaitNotVisible(chromedp.ID(w.dialog)))
		}
	})

	t.Run("the Usage view: the figures of its charts and tables, the list's calls of 24 hours", func(t *testing.T) {
		session, err := p.srv.Mint("agent-usage", "env-b", false)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := createToken(t, p.srv.URL, "Bearer "+session, `{"name":"Metered feed"}`)
		// Usage as the metered routes and the key authorizer add it, in the local run's table.
		now := time.Now().UTC()
		seeds := []struct {
			at time.Time
			c  tokenstore.UsageCounts
		}{
			{now, tokenstore.UsageCounts{Allowed: 12, RateLimited: 3}},
			{now.Add(-5 * time.Hour), tokenstore.UsageCounts{QuotaExhausted: 1, Refused: 2}},
			{now.Add(-3 * 24 * time.Hour), tokenstore.UsageCounts{Allowed: 40}},
			{now.Add(-40 * 24 * time.Hour), tokenstore.UsageCounts{Allowed: 999}}, // before either chart
		}
		hours, days := map[string]tokenstore.UsageCounts{}, map[string]tokenstore.UsageCounts{}
		store := p.srv.testStore(t)
		for _, s := range seeds {
			if err := store.AddUsage(context.Background(), "env-b", id, s.at, s.c); err != nil {
				t.Fatal(err)
			}
			if now.Sub(s.at) < 24*time.Hour {
				h := hours[s.at.Truncate(time.Hour).Format(time.RFC3339)]
				h.Add(s.c)
				hours[s.at.Truncate(time.Hour).Format(time.RFC3339)] = h
			}
			if now.Sub(s.at) < 29*24*time.Hour {
				d := days[s.at.Truncate(24*time.Hour).Format(time.RFC3339)]
				d.Add(s.c)
				days[s.at.Truncate(24*time.Hour).Format(time.RFC3339)] = d
			}
		}

		b := p.tab(t)
		b.signIn(t, "agent-usage", "env-b", false)
		if got := eval[string](t, b, fmt.Sprintf(`document.querySelector('tr[data-id=%q] td.calls').textContent`, id)); got != "18" {
			t.Errorf("the list's calls in 24 hours = %q, want 18", got)
		}
		// By keyboard: the menu button, Enter, End (Delete), ↑ (Usage), Enter.
		b.run(t, "focus the menu button", js(fmt.Sprintf(`document.querySelector(%q).focus()`, kebab(id))))
		b.run(t, "Usage by keyboard", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("token-menu")),
			chromedp.KeyEvent(kb.End), chromedp.KeyEvent(kb.ArrowUp))
		if got := eval[string](t, b, `document.activeElement.textContent`); got != "Usage" {
			t.Fatalf("focus in the menu on %q, want Usage", got)
		}
		b.run(t, "open Usage", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("usage-dialog")),
			poll(`document.getElementById("usage-dialog").dataset.loaded === "true"`, 30*time.Second))
		if got := eval[string](t, b, `document.getElementById("usage-title").textContent`); got != "Usage of “Metered feed”" {
			t.Errorf("title = %q, want it to name the token", got)
		}
		if eval[bool](t, b, `!document.getElementById("usage-dialog").contains(document.activeElement)`) {
			t.Error("focus is not in the Usage window")
		}
		b.screenshot(t, "usage")
		for _, c := range []struct {
			box   string
			items int
			want  map[string]tokenstore.UsageCounts
		}{{"usage-hours", 24, hours}, {"usage-days", 30, days}} {
			// Each row of the table and each bar of the chart, by start: "allowed/rateLimited/quotaExhausted/refused".
			table := eval[map[string]string](t, b, fmt.Sprintf(`Object.fromEntries([...document.querySelectorAll("#%s table tbody tr")].map(r =>
				[r.dataset.start, ["allowed","rateLimited","quotaExhausted","refused"].map(o => r.querySelector("td[data-outcome=" + o + "]").textContent).join("/")]))`, c.box))
			chart := eval[map[string]string](t, b, fmt.Sprintf(`Object.fromEntries([...document.querySelectorAll("#%s svg g.bar")].map(g =>
				[g.dataset.start, ["allowed","rateLimited","quotaExhausted","refused"].map(o => g.querySelector("rect[data-outcome=" + o + "]")?.dataset.count ?? "0").join("/")]))`, c.box))
			if len(table) != c.items || len(chart) != c.items {
				t.Errorf("%s: %d rows and %d bars, want %d of each", c.box, len(table), len(chart), c.items)
			}
			for start, row := range table {
				w := c.want[start]
				want := fmt.Sprintf("%d/%d/%d/%d", w.Allowed, w.RateLimited, w.QuotaExhausted, w.Refused)
				if row != want || chart[start] != want {
					t.Errorf("%s %s: table %s, chart %s, want %s", c.box, start, row, chart[start], want)
				}
			}
			for start := range c.want {
				if _, ok := table[start]; !ok {
					t.Errorf("%s: no row for %s, which had calls", c.box, start)
				}
			}
			if eval[bool](t, b, fmt.Sprintf(`document.querySelector("#%s svg").getAttribute("aria-hidden") !== "true"`, c.box)) {
				t.Errorf("%s: the chart is not hidden from screen readers, which read its table", c.box)
			}
		}
		if legend := eval[string](t, b, `document.querySelector("#usage-days .legend").textContent`); legend != "Allowed 52Rate limited 3Quota exhausted 1Refused 2" {
			t.Errorf("30 days' legend = %q, want the totals 52, 3, 1, 2", legend)
		}
		if !eval[bool](t, b, `document.getElementById("usage-quota").hidden`) {
			t.Error("a token without a quota shows a quota bar")
		}
		r := b.axe(t, axeSource(t))
		for _, v := range r.Violations {
			t.Errorf("the Usage window: %s", v)
		}
		b.run(t, "Escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("usage-dialog")))
		if got := settleFocus(b, id); got != id {
			t.Errorf("focus after closing Usage on %q, want the token's menu button", got)
		}
	})

	t.Run("axe finds no violation: the list, the token menu open, each window", func(t *testing.T) {
		axe := axeSource(t)
		b := p.tab(t)
		b.signIn(t, "agent-axe", "env-b", false)
		id, _ := b.createToken(t, "Zapier Sync", false)
		// check runs axe on the page as it stands and fails on any violation; must names rules
		// that have to have run and passed (region: every part of the page in a landmark).
		check := func(state string, must ...string) {
			t.Helper()
			r := b.axe(t, axe)
			for _, v := range r.Violations {
				t.Errorf("%s: %s", state, v)
			}
			for _, rule := range must {
				if !contains(r.Passes, rule) {
					t.Errorf("%s: axe did not find rule %s kept (passed: %v)", state, rule, r.Passes)
				}
			}
		}
		check("the list", "region", "landmark-one-main")
		b.menuItems(t, id)
		if !eval[bool](t, b, `!document.getElementById("token-menu").hidden && document.getElementById("token-menu").closest("main") !== null`) {
			t.Fatal("the token menu is not open inside main")
		}
		check("the token menu open", "region", "aria-required-children", "aria-allowed-role")
		b.run(t, "close menu", chromedp.KeyEvent(kb.Escape))
		b.run(t, "+New", chromedp.Click(chromedp.ID("new-token")), chromedp.WaitVisible(chromedp.ID("create-dialog")))
		check("Create Token", "label")
		b.run(t, "Cancel", chromedp.Click(chromedp.CSS(`#create-dialog [data-close]`)), chromedp.WaitNotVisible(chromedp.ID("create-dialog")))
		for _, w := range []struct{ item, dialog string }{
			{"View key", "key-dialog"}, {"Edit", "edit-dialog"}, {"Roll key", "roll-dialog"},
			{"History", "history-dialog"}, {"Usage", "usage-dialog"}, {"Delete", "delete-dialog"},
		} {
			b.choose(t, id, w.item)
			b.run(t, w.item, chromedp.WaitVisible(chromedp.ID(w.dialog)))
			check(w.item)
			b.run(t, "close", chromedp.Click(chromedp.CSS("#"+w.dialog+" [data-close]")), chromedp.WaitNotVisible(chromedp.ID(w.dialog)))
		}
	})

	t.Run("at 360 px wide", func(t *testing.T) {
		b := p.tab(t)
		b.run(t, "narrow", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		b.signIn(t, "agent-1", "env-b", false)
		b.createToken(t, "Zapier Sync", false)
		if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("page is %d px wide at 360, want no sideways scroll", w)
		}
		b.screenshot(t, "list-360px")
		id := eval[string](t, b, `document.querySelector("tr[data-id]").dataset.id`)
		b.menuItems(t, id)
		if right := eval[float64](t, b, `document.getElementById("token-menu").getBoundingClientRect().right`); right > 360 {
			t.Errorf("the menu ends at %v px, past the 360 px screen", right)
		}
		b.run(t, "Roll key", chromedp.Click(chromedp.Search(`//ul[@id="token-menu"]//button[normalize-space()="Roll key"]`)),
			chromedp.WaitVisible(chromedp.ID("roll-dialog")))
		if right := eval[float64](t, b, `document.getElementById("roll-dialog").getBoundingClientRect().right`); right > 360 {
			t.Errorf("the roll window ends at %v px, past the 360 px screen", right)
		}
		b.screenshot(t, "roll-key-360px")
	})
}

// policyRead is true once the Policy window holds the policy it read.
const policyRead = `document.getElementById("policy-state").textContent === "" && document.querySelector("#policy-levels input") !== null`

// selectValue chooses value in the select id, as a person's choice does (a change event).
func selectValue(id, value string) chromedp.Action[chromedp.Void] {
	return js(fmt.Sprintf(`(s => { s.value = %q; s.dispatchEvent(new Event("change")); })(document.getElementById(%q))`, value, id))
}

// watchEdits records the body of each edit (PATCH) the page sends, in window.edits.
const watchEdits = `(() => {
	window.edits = [];
	const send = window.fetch;
	window.fetch = (url, init) => {
		if (init && init.method === "PATCH") window.edits.push(init.body);
		return send(url, init);
	};
})()`

// storedLimits reads a token's rateLimit and quota through the API, as the JSON it answers.
func storedLimits(t *testing.T, url, session, id string) (rateLimit, quota string) {
	t.Helper()
	r := call(t, "GET", url+"/v1/tokens/"+id, "Bearer "+session, "")
	var tok struct{ RateLimit, Quota json.RawMessage }
	if err := json.Unmarshal([]byte(r.body), &tok); r.status != 200 || err != nil {
		t.Fatalf("get %s: %d %s", id, r.status, r.shown())
	}
	return string(tok.RateLimit), string(tok.Quota)
}

// storedAccess reads a token through the API: its permissions and allowedCidrs as the JSON it
// answers (null, or a list), and its status.
func storedAccess(t *testing.T, url, session, id string) (permissions, allowedCidrs, status string) {
	t.Helper()
	r := call(t, "GET", url+"/v1/tokens/"+id, "Bearer "+session, "")
	var tok struct {
		Permissions, AllowedCidrs json.RawMessage
		Status                    string
	}
	if err := json.Unmarshal([]byte(r.body), &tok); r.status != 200 || err != nil {
		t.Fatalf("get %s: %d %s", id, r.status, r.shown())
	}
	return string(tok.Permissions), string(tok.AllowedCidrs), tok.Status
}

// resourceChoices is the JavaScript that lists a window's None / Read / Write choices, one
// "resource:Level,Level" per resource, as the page shows them.
func resourceChoices(prefix string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#%s-resources fieldset.resource")].map(f =>
		f.querySelector("legend").textContent.toLowerCase() + ":" + [...f.querySelectorAll("label")].map(l => l.textContent.trim()).join(","))`, prefix)
}

// catalogueChoices is what resourceChoices should list: the catalogue of GET /v1/policy, each
// resource with None and the levels it names.
func catalogueChoices(t *testing.T, url, session string) []string {
	t.Helper()
	var pol struct{ Catalogue []struct{ Name string } }
	if err := json.Unmarshal([]byte(call(t, "GET", url+"/v1/policy", "Bearer "+session, "").body), &pol); err != nil || len(pol.Catalogue) == 0 {
		t.Fatalf("no catalogue in GET /v1/policy (%v)", err)
	}
	var order []string
	levels := map[string][]string{}
	for _, e := range pol.Catalogue {
		resource, level, _ := strings.Cut(e.Name, ":")
		if levels[resource] == nil {
			order = append(order, resource)
			levels[resource] = []string{"None"}
		}
		levels[resource] = append(levels[resource], strings.ToUpper(level[:1])+level[1:])
	}
	var out []string
	for _, r := range order {
		out = append(out, r+":"+strings.Join(levels[r], ","))
	}
	return out
}

// settleFocus waits up to 3 s for focus to reach the element whose id or data-token is want,
// and returns where it is.
func settleFocus(b *tab, want string) string {
	const activeJS = `(e => e.id || e.dataset.token || "")(document.activeElement)`
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	_ = chromedp.Do(ctx, poll(fmt.Sprintf(`%s === %q`, activeJS, want), 3*time.Second))
	v, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](activeJS))
	return v
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
