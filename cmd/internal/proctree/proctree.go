package proctree

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Descendants returns the ids of every living process whose chain of parents includes pid.
func Descendants(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentOf(p); ok {
			parent[p] = pp
		}
	}
	var out []int
	for p := range parent {
		for q, hops := parent[p], 0; q > 0 && hops < len(parent); q, hops = parent[q], hops+1 {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out, nil
}

// parentOf reads the parent id from /proc/<pid>/stat. A zombie counts as gone.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces: the fields that matter follow
	// the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 || string(fields[0]) == "Z" {
		return 0, false
	}
	pp, err := strconv.Atoi(string(fields[1]))
	return pp, err == nil
}

// Listens reports whether process pid itself holds a listening TCP socket on port: a socket in
// state LISTEN on that port in /proc/net/tcp or tcp6 whose inode is one of the process's open
// files. A readiness check that only dials the port cannot tell the process it started from
// another one that bound the port first.
func Listens(pid, port int) (bool, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return false, err
	}
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/" + table)
		if err != nil {
			continue // no IPv6 on this machine
		}
		for _, line := range bytes.Split(b, []byte("\n"))[1:] {
			f := bytes.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || string(f[3]) != "0A" {
				continue
			}
			_, hexPort, ok := bytes.Cut(f[1], []byte(":"))
			p, err := strconv.ParseInt(string(hexPort), 16, 32)
			if ok && err == nil && int(p) == port && inodes[string(f[9])] {
				return true, nil
			}
		}
	}
	return false, nil
}

// socketInodes returns the inodes of the sockets process pid has open.
func socketInodes(pid int) (map[string]bool, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list the files of process %d: %w", pid, err)
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(dir + "/" + e.Name())
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return inodes, nil
}

// Running reports whether the process pid exists and is not a zombie.
func Running(pid int) bool {
	_, ok := parentOf(pid)
	return ok
}
