package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// DefaultTTL is how long a fetched ring is used before it is fetched again.
const DefaultTTL = 5 * time.Minute

// refetchEvery bounds the fetches that a version the ring does not hold can cause: at most one
// per version in this time. Such a version comes only from a stored token (a key ring rotation
// that this copy has not seen yet), never from a caller's input, but an item naming a version
// that no ring holds must not turn every check into a Secrets Manager call either.
const refetchEvery = 10 * time.Second

// retryAfterFailure is how long a Source that holds a good ring waits after a failed fetch
// before it tries again, so that an outage does not turn every request into a Secrets Manager
// call.
const retryAfterFailure = 30 * time.Second

// SecretsClient is the part of the Secrets Manager client that Source uses.
type SecretsClient interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Source hands out the key ring from one secret, cached in memory.
type Source struct {
	client   SecretsClient
	secretID string
	now      func() time.Time

	mu        sync.Mutex
	ring      *Ring
	nextFetch time.Time
	missed    map[string]time.Time // version id → when it last caused a fetch
}

// NewSource returns a Source for secretID that keeps a ring for DefaultTTL, measured on now
// (time.Now in a function).
func NewSource(client SecretsClient, secretID string, now func() time.Time) *Source {
	return &Source{client: client, secretID: secretID, now: now}
}

// Ring returns the cached ring, fetching it when it is missing or stale. When a fetch fails and
// a ring was fetched before, the last good ring is returned and the failure logged; with no ring
// at all the error is returned.
func (s *Source) Ring(ctx context.Context) (*Ring, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.ring != nil && now.Before(s.nextFetch) {
		return s.ring, nil
	}
	return s.refresh(ctx, now)
}

// Version returns the ring version id. When the cached ring does not hold it (a rotation added
// it since this copy fetched the ring), the ring is fetched again at once, at most once per
// refetchEvery; a version still unknown then gives ErrUnknownVersion.
func (s *Source) Version(ctx context.Context, id string) (*Version, error) {
	ring, err := s.Ring(ctx)
	if err != nil {
		return nil, err
	}
	if v, err := ring.Version(id); err == nil {
		return v, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.now(); s.ring.versions[id] == nil && now.Sub(s.missed[id]) >= refetchEvery {
		if s.missed == nil || len(s.missed) >= 100 {
			s.missed = make(map[string]time.Time)
		}
		s.missed[id] = now
		if _, err := s.refresh(ctx, now); err != nil {
			return nil, err
		}
	}
	return s.ring.Version(id)
}

// refresh fetches the ring; s.mu is held.
func (s *Source) refresh(ctx context.Context, now time.Time) (*Ring, error) {
	ring, err := s.fetch(ctx)
	if err != nil {
		if s.ring != nil {
			slog.WarnContext(ctx, "key ring fetch failed; keeping the last good ring", "err", err)
			s.nextFetch = now.Add(retryAfterFailure)
			return s.ring, nil
		}
		return nil, err
	}
	s.ring, s.nextFetch = ring, now.Add(DefaultTTL)
	return ring, nil
}

func (s *Source) fetch(ctx context.Context) (*Ring, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.secretID})
	if err != nil {
		return nil, fmt.Errorf("fetch key ring: %w", err)
	}
	if out.SecretString == nil {
		return nil, errors.New("fetch key ring: secret has no string value")
	}
	return Parse([]byte(*out.SecretString))
}
