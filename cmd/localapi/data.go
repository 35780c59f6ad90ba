package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/cmd/localapi/internal/snapshot"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// saveDelay gathers the writes of a burst of requests into one save.
const saveDelay = 300 * time.Millisecond

// saveShare bounds the emulator's time spent on saves under a steady stream of requests: after
// a save that took d, the next one waits at least saveShare·d, so a large table is not read
// whole again and again while requests wait on the same emulator. A stop still saves last.
const saveShare = 10

// startEmulator starts the emulator, creates the table and the secret, and puts back the data
// stored by the last run (or, fresh, discards it).
func (s *Server) startEmulator(ctx context.Context, fresh bool) error {
	tmpl, err := samtemplate.Open(s.template)
	if err != nil {
		return err
	}
	if s.emu, err = emulator.Start(ctx, s.root); err != nil {
		return err
	}
	awsCfg, err := s.emu.Config(ctx)
	if err != nil {
		return fmt.Errorf("emulator config: %w", err)
	}
	if s.res, err = emulator.Provision(ctx, awsCfg, tmpl, TableName, SecretName); err != nil {
		return err
	}
	store := &snapshot.Store{
		DB: dynamodb.NewFromConfig(awsCfg), Secrets: secretsmanager.NewFromConfig(awsCfg),
		Table: s.res.TableName, SecretID: s.res.SecretARN, Path: filepath.Join(s.stateDir, dataFile),
	}
	if err := s.restore(ctx, store, fresh); err != nil {
		return err
	}
	s.data = newDataKeeper(store, s.say)
	return nil
}

// restore puts the stored data back, or with fresh removes it, and says which.
func (s *Server) restore(ctx context.Context, store *snapshot.Store, fresh bool) error {
	if fresh {
		if err := os.Remove(store.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("discard the stored data: %w", err)
		}
	}
	restored, n, err := store.Restore(ctx)
	if err != nil {
		return fmt.Errorf("%w (make run FRESH=1 starts empty)", err)
	}
	if restored {
		s.say("AWS emulator on %s: table %s with the %d items stored in %s, and its key ring", s.emu.Endpoint, s.res.TableName, n, store.Path)
		return nil
	}
	s.say("AWS emulator on %s: table %s (empty), secret %s (a new key ring)", s.emu.Endpoint, s.res.TableName, SecretName)
	return nil
}

// dataKeeper saves the emulator's data after the requests that may have written, and once more
// when the run stops, so that a stop loses nothing that was answered.
type dataKeeper struct {
	store *snapshot.Store
	say   func(string, ...any)
	mu    sync.Mutex // guards timer and took
	timer *time.Timer
	took  time.Duration // how long the last save took
	saves sync.WaitGroup
	// saving keeps saves one at a time, apart from mu so that a request never waits for one.
	saving sync.Mutex
}

func newDataKeeper(store *snapshot.Store, say func(string, ...any)) *dataKeeper {
	return &dataKeeper{store: store, say: say}
}

// afterWrites schedules a save after every request but those that only read. A GET counts too:
// the key authorizer notes when a key was last used.
func (d *dataKeeper) afterWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if r.Method != http.MethodOptions && r.Method != http.MethodHead {
			d.schedule()
		}
	})
}

func (d *dataKeeper) schedule() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		return // a save is due and will see this request's writes
	}
	d.saves.Add(1)
	d.timer = time.AfterFunc(max(saveDelay, saveShare*d.took), func() {
		defer d.saves.Done()
		d.mu.Lock()
		d.timer = nil
		d.mu.Unlock()
		start := time.Now()
		_, err := d.save()
		d.mu.Lock()
		d.took = time.Since(start)
		d.mu.Unlock()
		if err != nil {
			d.say("%v", err)
		}
	})
}

// save writes one snapshot at a time.
func (d *dataKeeper) save() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d.saving.Lock()
	defer d.saving.Unlock()
	return d.store.Save(ctx)
}

// close waits for a scheduled save, then saves a last time.
func (d *dataKeeper) close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	if d.timer != nil && d.timer.Stop() {
		d.timer = nil
		d.saves.Done()
	}
	d.mu.Unlock()
	d.saves.Wait()
	n, err := d.save()
	if err != nil {
		return fmt.Errorf("store the data: %w", err)
	}
	d.say("stored %d items and the key ring in %s", n, d.store.Path)
	return nil
}
