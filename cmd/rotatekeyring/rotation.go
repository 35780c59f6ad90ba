package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/shared/keyring"
)

// materialLen and materialAlphabet are what template.yaml's GenerateSecretString makes for the
// first version: 64 letters and digits.
const (
	materialLen      = 64
	materialAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// SecretsAPI is the part of the Secrets Manager client that Rotation uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// Rotation adds a key ring version and makes it current once every function has seen it.
type Rotation struct {
	Client   SecretsAPI
	SecretID string
	// Wait is how long the new version is in the ring before it becomes current.
	Wait time.Duration
	// Log receives one line per step; it never sees key material.
	Log io.Writer
	// sleep waits for d; tests replace it to look at the secret during the wait.
	sleep func(ctx context.Context, d time.Duration) error
}

// Result names the versions of a rotation.
type Result struct {
	Previous, Current string
}

// Run rotates: it adds the new version with "current" unchanged, waits, checks that nobody
// changed the secret meanwhile, and points "current" at the new version. Every version already
// in the ring is kept.
func (r *Rotation) Run(ctx context.Context) (Result, error) {
	ring, _, err := r.read(ctx)
	if err != nil {
		return Result{}, err
	}
	prev := ring["current"]
	next := nextVersion(ring)
	material, err := newMaterial()
	if err != nil {
		return Result{}, err
	}
	ring[next] = material
	added, err := r.write(ctx, ring)
	if err != nil {
		return Result{}, fmt.Errorf("add version %s: %w", next, err)
	}
	r.logf("added key ring version %s; %s stays current until %s", next, prev, time.Now().Add(r.Wait).UTC().Format(time.RFC3339))

	sleep := r.sleep
	if sleep == nil {
		sleep = wait
	}
	if err := sleep(ctx, r.Wait); err != nil {
		return Result{}, fmt.Errorf("waiting to make %s current (it is in the ring, not current): %w", next, err)
	}

	again, version, err := r.read(ctx)
	if err != nil {
		return Result{}, err
	}
	if version != added {
		return Result{}, fmt.Errorf("the secret changed while waiting (version %s, want %s): %s left in the ring, not current; run again", version, added, next)
	}
	again["current"] = next
	if _, err := r.write(ctx, again); err != nil {
		return Result{}, fmt.Errorf("make %s current: %w", next, err)
	}
	r.logf("key ring version %s is current; %d versions kept", next, len(again)-1)
	return Result{Previous: prev, Current: next}, nil
}

// read returns the ring as its flat JSON map and the secret's version id. A ring the functions
// could not read is refused.
func (r *Rotation) read(ctx context.Context) (map[string]string, string, error) {
	out, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &r.SecretID})
	if err != nil {
		return nil, "", fmt.Errorf("read key ring: %w", err)
	}
	s := aws.ToString(out.SecretString)
	if _, err := keyring.Parse([]byte(s)); err != nil {
		return nil, "", fmt.Errorf("read key ring: %w", err)
	}
	ring := map[string]string{}
	if err := json.Unmarshal([]byte(s), &ring); err != nil {
		return nil, "", errors.New("read key ring: not a flat JSON object of strings")
	}
	return ring, aws.ToString(out.VersionId), nil
}

// write stores the ring as the secret's new current value and returns its version id.
func (r *Rotation) write(ctx context.Context, ring map[string]string) (string, error) {
	b, err := json.Marshal(ring)
	if err != nil {
		return "", err
	}
	if _, err := keyring.Parse(b); err != nil {
		return "", err
	}
	out, err := r.Client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &r.SecretID, SecretString: aws.String(string(b))})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.VersionId), nil
}

func (r *Rotation) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

// nextVersion returns k<n+1> for the highest n that a version id of the ring ends in.
func nextVersion(ring map[string]string) string {
	highest := 0
	for id := range ring {
		if id == "current" {
			continue
		}
		i := len(id)
		for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
			i--
		}
		if n, err := strconv.Atoi(id[i:]); err == nil && n > highest {
			highest = n
		}
	}
	return "k" + strconv.Itoa(highest+1)
}

// newMaterial returns materialLen characters of materialAlphabet from crypto/rand, without
// modulo bias.
func newMaterial() (string, error) {
	out := make([]byte, 0, materialLen)
	buf := make([]byte, 2*materialLen)
	limit := byte(256 - 256%len(materialAlphabet))
	for len(out) < materialLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("key material: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < materialLen {
				out = append(out, materialAlphabet[int(b)%len(materialAlphabet)])
			}
		}
	}
	return string(out), nil
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
