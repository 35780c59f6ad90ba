package leakreport

import "time"

// SetClock replaces the key source's clock, for tests.
func (k *Keys) SetClock(now func() time.Time) { k.now = now }
