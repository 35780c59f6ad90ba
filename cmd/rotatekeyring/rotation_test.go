package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/testkit/emulatortest"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }

// clock is a fake time shared by the functions' ring caches and the rotation's wait.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func secretMap(t *testing.T, env emulatortest.Env) map[string]string {
	t.Helper()
	out, err := env.Secrets.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: &env.SecretARN})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func ring(t *testing.T, s *keyring.Source) *keyring.Ring {
	t.Helper()
	r, err := s.Ring(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRotationHasNoGap follows two functions through a rotation: one that fetched the ring
// before it (and keeps it for its cache's TTL) and one that fetches during the wait. Keys and
// sealed values made under the old version keep working for both throughout; the new version
// becomes current only after the wait, when the first function must have fetched again, so
// that a key made under it is one every function can check.
func TestRotationHasNoGap(t *testing.T) {
	ctx := context.Background()
	env := emulatortest.New(t)
	clk := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	before := keyring.NewSource(env.Secrets, env.SecretARN, clk.Now)
	old := ring(t, before)
	oldKey := "cbk_made_before_the_rotation"
	oldMAC := old.Current().MAC(oldKey)
	sealed, err := old.Current().Seal([]byte(oldKey), []byte("tok-1"))
	if err != nil {
		t.Fatal(err)
	}
	first := secretMap(t, env)

	var log bytes.Buffer
	r := &Rotation{Client: env.Secrets, SecretID: env.SecretARN, Wait: DefaultWait, Log: &log}
	r.sleep = func(_ context.Context, d time.Duration) error {
		// During the wait: the new version is in the ring, the old one still current.
		m := secretMap(t, env)
		if m["current"] != first["current"] || m["k2"] == "" || m["k1"] != first["k1"] {
			t.Errorf("during the wait: current %q, k2 set %v, k1 kept %v; want current %q, k2 added, k1 as it was",
				m["current"], m["k2"] != "", m["k1"] == first["k1"], first["current"])
		}
		during := keyring.NewSource(env.Secrets, env.SecretARN, clk.Now)
		dr := ring(t, during)
		if dr.Current().ID() != "k1" {
			t.Errorf("a function fetching during the wait makes keys under %s, want k1", dr.Current().ID())
		}
		if v, err := dr.Version("k1"); err != nil || !bytes.Equal(v.MAC(oldKey), oldMAC) {
			t.Errorf("a function fetching during the wait does not check the old key: %v", err)
		}
		if ring(t, before).Current().ID() != "k1" {
			t.Error("the function that fetched before no longer holds the old ring")
		}
		clk.advance(d)
		return nil
	}
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Previous != "k1" || res.Current != "k2" {
		t.Errorf("result got %+v, want k1 to k2", res)
	}

	// The wait outlasted the cache: the first function fetches again and holds k2, current.
	after := ring(t, before)
	if after.Current().ID() != "k2" {
		t.Fatalf("after the wait the first function's current got %s, want k2", after.Current().ID())
	}
	newKey := "cbk_made_after_the_rotation"
	if v, err := after.Version("k2"); err != nil || !bytes.Equal(v.MAC(newKey), after.Current().MAC(newKey)) {
		t.Errorf("k2 is not the version keys are now made under: %v", err)
	}
	v1, err := after.Version("k1")
	if err != nil || !bytes.Equal(v1.MAC(oldKey), oldMAC) {
		t.Fatalf("k1 after the rotation: %v, or its MAC changed", err)
	}
	if got, err := v1.Open(sealed, []byte("tok-1")); err != nil || string(got) != oldKey {
		t.Errorf("a key sealed under k1 does not open after the rotation: %v", err)
	}
	m := secretMap(t, env)
	if len(m) != 3 || m["k1"] != first["k1"] || len(m["k2"]) != materialLen {
		t.Errorf("the ring after: %d members, k1 kept %v, k2 %d characters; want current, k1 as it was, k2 of %d", len(m), m["k1"] == first["k1"], len(m["k2"]), materialLen)
	}
	if strings.Contains(log.String(), m["k2"]) || strings.Contains(log.String(), m["k1"]) {
		t.Error("the rotation's output holds key material")
	}

	// Another rotation adds k3 and keeps both.
	r.sleep = func(context.Context, time.Duration) error { return nil }
	if res, err := r.Run(ctx); err != nil || res.Current != "k3" {
		t.Fatalf("second rotation got %+v, %v, want k3", res, err)
	}
	if m := secretMap(t, env); m["k1"] != first["k1"] || m["k2"] == "" || m["current"] != "k3" {
		t.Errorf("after the second rotation: %v versions, current %s; want k1, k2, k3 with k3 current", len(m)-1, m["current"])
	}
}

// TestDefaultWaitCoversTheRingCache: a shorter wait would make the new version current while a
// function still holds a ring without it.
func TestDefaultWaitCoversTheRingCache(t *testing.T) {
	if DefaultWait <= keyring.DefaultTTL {
		t.Errorf("DefaultWait %s, want longer than the functions' ring cache %s", DefaultWait, keyring.DefaultTTL)
	}
}

// TestRotationStopsOnAConcurrentChange: the secret written by someone else during the wait is
// not overwritten; the new version stays added, not current.
func TestRotationStopsOnAConcurrentChange(t *testing.T) {
	env := emulatortest.New(t)
	r := &Rotation{Client: env.Secrets, SecretID: env.SecretARN}
	r.sleep = func(ctx context.Context, _ time.Duration) error {
		m := secretMap(t, env)
		m["k9"] = strings.Repeat("x", 64)
		b, _ := json.Marshal(m)
		_, err := env.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &env.SecretARN, SecretString: aws.String(string(b))})
		return err
	}
	_, err := r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "changed while waiting") {
		t.Fatalf("err got %v, want the secret changed while waiting", err)
	}
	if m := secretMap(t, env); m["current"] != "k1" || m["k9"] == "" || m["k2"] == "" {
		t.Errorf("after: current %s, want k1 with k2 and k9 kept", m["current"])
	}
}

// TestRotationRefusesAnUnreadableRing: a secret the functions could not read is left alone.
func TestRotationRefusesAnUnreadableRing(t *testing.T) {
	env := emulatortest.New(t)
	bad := `{"current":"k7","k1":"` + strings.Repeat("a", 64) + `"}`
	if _, err := env.Secrets.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: &env.SecretARN, SecretString: aws.String(bad)}); err != nil {
		t.Fatal(err)
	}
	r := &Rotation{Client: env.Secrets, SecretID: env.SecretARN}
	if _, err := r.Run(context.Background()); err == nil {
		t.Fatal("rotation of an unreadable ring succeeded")
	}
	out, err := env.Secrets.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: &env.SecretARN})
	if err != nil || aws.ToString(out.SecretString) != bad {
		t.Errorf("the secret was changed: %v", err)
	}
}

// TestCommand runs the command as `make rotate-keyring WAIT=…` does, with a short wait.
func TestCommand(t *testing.T) {
	env := emulatortest.New(t)
	t.Setenv("AWS_ENDPOINT_URL", env.Endpoint)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "emulator")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "emulator")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-secret-id", env.SecretARN, "-wait", "200ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "added key ring version k2; k1 stays current") || !strings.Contains(stdout.String(), "key ring version k2 is current; 2 versions kept") {
		t.Errorf("stdout got %q, want both steps", stdout.String())
	}
	if m := secretMap(t, env); m["current"] != "k2" {
		t.Errorf("current got %s, want k2", m["current"])
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"-wait", "nonsense"}, &stdout, &stderr); code != 2 {
		t.Errorf("a bad -wait: exit %d, want 2", code)
	}
}
