package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apitokens/apitokens/cmd/internal/lambdas"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// functionSet invokes the template's functions by logical id. A function that is still building
// or starting is waited for, never refused: the API answers before the last build ends.
type functionSet struct {
	byID  map[string]*pending
	built chan builtFunctions
	ready chan struct{}
	err   error
}

// pending is one function: ready is closed once its pool runs or err says why it cannot.
type pending struct {
	ready chan struct{}
	fn    *lambdas.Pool
	err   error
}

type builtFunctions struct {
	rie, dir string
	err      error
}

// build starts compiling every function of app and the runtime interface emulator, and returns
// the set that will run them.
func (s *Server) build(ctx context.Context, app *samtemplate.App) *functionSet {
	fs := &functionSet{byID: map[string]*pending{}, built: make(chan builtFunctions, 1), ready: make(chan struct{})}
	for id := range app.Functions {
		fs.byID[id] = &pending{ready: make(chan struct{})}
	}
	fns := slices.SortedFunc(maps.Values(app.Functions), func(a, b *samtemplate.Function) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	dir := filepath.Join(s.stateDir, "build")
	go func() {
		start := time.Now()
		s.say("building %d functions and the runtime interface emulator…", len(fns))
		rie, err := lambdas.BuildAll(ctx, s.root, dir, fns)
		if err == nil {
			s.say("built in %s", time.Since(start).Round(100*time.Millisecond))
		}
		fs.built <- builtFunctions{rie: rie, dir: dir, err: err}
	}()
	return fs
}

// startFunctions waits for the build, then gives every function its pool of execution
// environments and starts the first environment of each, all at once; an emulator that dies
// stops the local run.
func (s *Server) startFunctions(ctx context.Context) {
	fs := s.functions
	b := <-fs.built
	env := s.functionEnvironment()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for id, p := range fs.byID {
		wg.Go(func() {
			if p.err = b.err; p.err == nil {
				p.fn = lambdas.NewPool(ctx, lambdas.PoolConfig{
					RIE: b.rie, Bootstrap: lambdas.BootstrapPath(b.dir, id), Function: s.app.Functions[id],
					Env: env, Out: s.out, Max: s.concurrency, IdleTimeout: s.idleTimeout, OnExit: s.fail,
				})
				p.err = p.fn.Warm()
			}
			close(p.ready)
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, p.err)
		})
	}
	wg.Wait()
	if fs.err = errors.Join(errs...); fs.err != nil {
		s.fail(fmt.Errorf("build: %w", fs.err))
	}
	close(fs.ready)
}

// functionEnvironment is what every function gets beside its template's variables: the
// emulator's endpoint, region and credentials, and the table and secret.
func (s *Server) functionEnvironment() map[string]string {
	env := map[string]string{
		"AWS_ENDPOINT_URL":      s.emu.Endpoint,
		"AWS_REGION":            emulator.Region,
		"AWS_DEFAULT_REGION":    emulator.Region,
		"AWS_ACCESS_KEY_ID":     "emulator",
		"AWS_SECRET_ACCESS_KEY": "emulator",
		"TABLE_NAME":            s.res.TableName,
		"KEYRING_SECRET_ID":     s.res.SecretARN,
		// GitHub's keys are GitHub's; locally, reports are signed with the local run's own.
		"SECRET_SCANNING_KEYS_URL": s.URL + scanKeysPath,
		// Webhooks go to this machine only (docs/webhooks.md).
		"EVENTS_QUEUE_URL": s.queues[samtemplate.EventsQueueResource],
		"WEBHOOK_TARGETS":  "loopback",
	}
	if s.webhookRetry != "" {
		env["WEBHOOK_RETRY_SECONDS"] = s.webhookRetry // else the template's, the deployed schedule
	}
	return env
}

// Ready waits until every function runs, and returns why one cannot.
func (s *Server) Ready(ctx context.Context) error {
	select {
	case <-s.functions.ready:
		return s.functions.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Invoke runs a function, waiting for it to be built and started first.
func (fs *functionSet) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	pool, err := fs.pool(ctx, name)
	if err != nil {
		return nil, err
	}
	return pool.Invoke(ctx, payload)
}

// pool returns a function's pool once it runs.
func (fs *functionSet) pool(ctx context.Context, name string) (*lambdas.Pool, error) {
	p, ok := fs.byID[name]
	if !ok {
		return nil, fmt.Errorf("no function %s", name)
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return p.fn, p.err
}

// running returns the pools of the functions that run, without waiting for the others.
func (fs *functionSet) running() []*lambdas.Pool {
	var out []*lambdas.Pool
	for _, p := range fs.byID {
		select {
		case <-p.ready:
			if p.fn != nil {
				out = append(out, p.fn)
			}
		default:
		}
	}
	return out
}

// setConcurrency changes the local maximum of every function that runs.
func (fs *functionSet) setConcurrency(n int) {
	for _, p := range fs.running() {
		p.SetMax(n)
	}
}

// stop ends every function that was started; one still starting is stopped once it has.
func (fs *functionSet) stop() {
	if fs == nil {
		return
	}
	var wg sync.WaitGroup
	for _, p := range fs.byID {
		wg.Go(func() {
			select {
			case <-p.ready:
				if p.fn != nil {
					p.fn.Stop()
				}
			case <-time.After(20 * time.Second):
			}
		})
	}
	wg.Wait()
}
