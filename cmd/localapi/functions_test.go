package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestInvokeWaitsForTheFunction checks that a call to a function still building waits for it
// rather than failing, and then gets what the start came to.
func TestInvokeWaitsForTheFunction(t *testing.T) {
	p := &pending{ready: make(chan struct{})}
	fs := &functionSet{byID: map[string]*pending{"CreateTokenFunction": p}}
	done := make(chan error, 1)
	go func() {
		_, err := fs.Invoke(context.Background(), "CreateTokenFunction", []byte(`{}`))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Invoke returned %v before the function was ready, want it to wait", err)
	case <-time.After(100 * time.Millisecond):
	}
	p.err = errors.New("build failed")
	close(p.ready)
	if err := <-done; err == nil || err.Error() != "build failed" {
		t.Errorf("Invoke once ready: got %v, want the start's error", err)
	}

	t.Run("the caller gives up", func(t *testing.T) {
		fs := &functionSet{byID: map[string]*pending{"F": {ready: make(chan struct{})}}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if _, err := fs.Invoke(ctx, "F", nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's error", err)
		}
	})
	t.Run("no such function", func(t *testing.T) {
		if _, err := fs.Invoke(context.Background(), "Nope", nil); err == nil {
			t.Error("got no error, want one")
		}
	})
}
