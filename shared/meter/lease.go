package meter

import (
	"context"
	"time"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Block sizing (docs/metering.md). An instance claims a block of what remains of an allowance, never more than
// remaining/FillDivisor, so the blocks it and others hold unspent shrink as the allowance
// fills: when the allowance is spent, what other instances hold unspent is a small part of
// what remained when they claimed it. A block is at most twice the last one this instance
// spent (it starts at 1 and doubles while the calls keep coming: an instance that serves few
// calls never holds many), and at most MaxBlock. FillDivisor is that divisor.
const (
	FillDivisor = 20
	MaxBlock    = 1000
)

// lease is what one instance holds of one allowance of a token: the period (a window of its
// rate limit or a month of its quota) it counts in, and what it claimed and has not spent.
type lease struct {
	counter tokenstore.Counter
	limit   int64
	end     time.Time // when the period ends
	left    int64     // claimed by this instance and not spent
	claimed int64     // the counter's total after this instance's last claim
	spent   bool      // a claim got nothing: the allowance is gone until the period ends
	block   int64     // the size of this instance's last claim, kept across periods
}

// renew moves l to the period of counter c, ending at end, with limit: what it held of an
// earlier period no longer counts.
func (l *lease) renew(c tokenstore.Counter, limit int64, end time.Time) {
	if l.counter == c && l.limit == limit {
		return
	}
	l.counter, l.limit, l.end = c, limit, end
	l.left, l.claimed, l.spent = 0, 0, false
}

// nextBlock is the size of the next claim.
func (l *lease) nextBlock() int64 {
	remaining := l.limit - l.claimed
	n := min(remaining/FillDivisor, 2*l.block, MaxBlock)
	return max(n, 1)
}

// take spends one call of the allowance, claiming a block when this instance holds none. It
// reports whether the call may go ahead, and the writes it made (0 or 1).
func (l *lease) take(ctx context.Context, store Store) (ok bool, writes int, err error) {
	if l.left > 0 {
		l.left--
		return true, 0, nil
	}
	if l.spent {
		return false, 0, nil
	}
	want := l.nextBlock()
	granted, claimed, err := store.Claim(ctx, l.counter, l.limit, want)
	if err != nil {
		return false, 1, err
	}
	l.claimed = max(l.claimed, claimed)
	if granted == 0 {
		l.spent = true
		return false, 1, nil
	}
	l.block, l.left = granted, granted-1
	return true, 1, nil
}

// giveBack returns one call taken but not used to what this instance holds.
func (l *lease) giveBack() { l.left++ }

// remaining is what this instance can tell is left of the allowance: what no instance had
// claimed at its own last claim, and what it holds itself. Claims made since by other
// instances are not seen until its next claim.
func (l *lease) remaining() int64 {
	if l.spent {
		return 0
	}
	return max(l.limit-l.claimed, 0) + l.left
}
