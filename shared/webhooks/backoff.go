package webhooks

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// MaxDelay is the longest an SQS message can be hidden before it is received again (12 hours).
const MaxDelay = 12 * time.Hour

// DefaultBackoff waits 10 s, 30 s and 60 s before the first three retries (all three within two
// minutes of the first failure), then 1, 3, 6 and 12 hours, then 12 hours: with the queue's nine
// receives, the last attempt comes about 34 hours after the first.
const DefaultBackoff = "10,30,60,3600,10800,21600,43200,43200"

// Backoff is how long a failed delivery waits before its next attempt, by attempt: the n-th
// failure waits Backoff[n-1], and every failure past the list the last one.
type Backoff []time.Duration

// ParseBackoff reads a schedule written as seconds separated by commas, each from 0 to 43200.
func ParseBackoff(s string) (Backoff, error) {
	var b Backoff
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || time.Duration(n)*time.Second > MaxDelay {
			return nil, errors.New("WEBHOOK_RETRY_SECONDS must be whole seconds from 0 to 43200, separated by commas")
		}
		b = append(b, time.Duration(n)*time.Second)
	}
	return b, nil
}

// After is how long to wait after the failure of attempt number attempt (1 for the first).
func (b Backoff) After(attempt int) time.Duration {
	if len(b) == 0 {
		return 0
	}
	return b[min(max(attempt, 1), len(b))-1]
}
