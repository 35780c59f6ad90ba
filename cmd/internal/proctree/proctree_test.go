package proctree

import (
	"net"
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

func TestListens(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	// A child that listens on nothing: the port is this process's, not the child's.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	for _, tt := range []struct {
		name string
		pid  int
		port int
		want bool
	}{
		{"the listener's own process", os.Getpid(), port, true},
		{"another process", cmd.Process.Pid, port, false},
		{"a port nobody of ours holds", os.Getpid(), otherPort(t, port), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Listens(tt.pid, tt.port)
			if err != nil || got != tt.want {
				t.Errorf("Listens(%d, %d) = %v, %v; want %v", tt.pid, tt.port, got, err, tt.want)
			}
		})
	}
}

// otherPort returns a port that was free a moment ago and is not port.
func otherPort(t *testing.T, port int) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if p := l.Addr().(*net.TCPAddr).Port; p != port {
		return p
	}
	t.Fatal("the system gave the same port twice")
	return 0
}
