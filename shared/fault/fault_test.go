package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/apitokens/apitokens/shared/fault"
)

func TestDomainErrorKeepsItsIdentityAndText(t *testing.T) {
	errGone := fault.Domain("thing gone", 404, "thing_not_found", "No such thing.")
	wrapped := fmt.Errorf("read thing 7: %w", errGone)
	if !errors.Is(wrapped, errGone) {
		t.Fatal("errors.Is lost the domain error through a wrap")
	}
	var f *fault.Error
	if !errors.As(wrapped, &f) || f.Status != 404 || f.Code != "thing_not_found" || f.Detail != "No such thing." {
		t.Fatalf("got %+v, want the domain error's answer", f)
	}
	if got, want := wrapped.Error(), "read thing 7: thing gone"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := fault.New(400, "bad", "Bad.").Error(), "bad: Bad."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
