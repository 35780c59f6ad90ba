package proctree

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestDescendantsFindsGrandchild(t *testing.T) {
	// sh starts sleep as its child: both descend from this test.
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var got []int
	for range 50 {
		var err error
		if got, err = Descendants(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if len(got) >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Contains(got, cmd.Process.Pid) || len(got) < 2 {
		t.Errorf("descendants = %v, want sh (%d) and its sleep", got, cmd.Process.Pid)
	}
}
