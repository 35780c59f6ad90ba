// Command load calls the running local API with one API key at a fixed rate for a while, and
// prints how many calls were allowed, answered 429, or anything else: `make load`, to watch a
// key's limits hold and its Usage chart move. It only ever calls a loopback address.
//
//	LOAD_KEY=cbk_… load [-addr 127.0.0.1:3000] [-state .localapi] [-rate 10] [-duration 10s] [-path /v1/me]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Defaults of a load run, and the most it may ask for.
const (
	defaultAddr  = "127.0.0.1:3000"
	stateDir     = ".localapi"
	addressFile  = "address"
	maxRate      = 2000
	maxDuration  = 10 * time.Minute
	callTimeout  = 30 * time.Second // API Gateway's integration timeout
	keyVariable  = "LOAD_KEY"
	defaultRoute = "/v1/me"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the command: it reads the key from getenv (never from the command line, which other
// users of the machine can read) and returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("load", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "", "address of the local API (default: the one the state folder recorded, else "+defaultAddr+")")
	state := fl.String("state", "", "state folder of the local API (default: "+stateDir+" in the working directory)")
	rate := fl.Int("rate", 10, "calls per second")
	duration := fl.Duration("duration", 10*time.Second, "how long to call")
	path := fl.String("path", defaultRoute, "the key-guarded route to call with GET")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	key := getenv(keyVariable)
	if err := check(key, *rate, *duration, *path); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	base, err := baseURL(*addr, *state)
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	target := vegeta.Target{Method: http.MethodGet, URL: base + *path, Header: http.Header{"Authorization": {"Bearer " + key}}}
	fmt.Fprintf(stdout, "load: GET %s, %d a second for %v\n", target.URL, *rate, *duration)
	c := attack(target, *rate, *duration)
	c.print(stdout)
	return 0
}

// check refuses what a run cannot do: no key, a rate or a duration out of bounds, a route that
// is not a path.
func check(key string, rate int, duration time.Duration, path string) error {
	switch {
	case key == "":
		return fmt.Errorf("no key: set %s (make load KEY=…)", keyVariable)
	case strings.ContainsAny(key, " \r\n"):
		return errors.New("the key holds a space or a line break")
	case rate < 1 || rate > maxRate:
		return fmt.Errorf("rate %d: want 1 to %d calls a second", rate, maxRate)
	case duration <= 0 || duration > maxDuration:
		return fmt.Errorf("duration %v: want more than 0 and at most %v", duration, maxDuration)
	case !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//"):
		return fmt.Errorf("path %q: want a route such as %s", path, defaultRoute)
	}
	return nil
}

// baseURL is the local API's base URL: addr when given, else the address the state folder
// recorded (as `make session` finds it), else defaultAddr. Anything but a loopback address is
// refused: the command is for the local run only, and a key is not to be sent elsewhere.
func baseURL(addr, state string) (string, error) {
	if state == "" {
		state = stateDir
	}
	base := "http://" + addr
	if addr == "" {
		base = "http://" + defaultAddr
		if b, err := os.ReadFile(filepath.Join(state, addressFile)); err == nil {
			base = strings.TrimSpace(string(b))
		}
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", fmt.Errorf("address %q: want host:port of the local API", base)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("address %s is not a loopback address: load only calls the local API", u.Host)
	}
	return "http://" + u.Host, nil
}

// counts are a run's answers: allowed (2xx), 429 (with how many carried Retry-After), and every
// other answer by status, 0 for no answer at all.
type counts struct {
	allowed, limited, retryAfter int
	other                        map[int]int
	errors                       map[string]int
}

func attack(target vegeta.Target, rate int, duration time.Duration) counts {
	attacker := vegeta.NewAttacker(vegeta.Timeout(callTimeout), vegeta.KeepAlive(true), vegeta.Redirects(vegeta.NoFollow))
	c := counts{other: map[int]int{}, errors: map[string]int{}}
	for res := range attacker.Attack(vegeta.NewStaticTargeter(target), vegeta.Rate{Freq: rate, Per: time.Second}, duration, "load") {
		switch {
		case res.Code >= 200 && res.Code < 300:
			c.allowed++
		case res.Code == http.StatusTooManyRequests:
			c.limited++
			if res.Headers.Get("Retry-After") != "" {
				c.retryAfter++
			}
		default:
			c.other[int(res.Code)]++
			if res.Error != "" {
				c.errors[res.Error]++
			}
		}
	}
	return c
}

func (c counts) print(w io.Writer) {
	other := 0
	for _, n := range c.other {
		other += n
	}
	fmt.Fprintf(w, "allowed %d\n429     %d (Retry-After on %d)\nother   %d\n", c.allowed, c.limited, c.retryAfter, other)
	codes := make([]int, 0, len(c.other))
	for code := range c.other {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		name := http.StatusText(code)
		if code == 0 {
			name = "no answer"
		}
		fmt.Fprintf(w, "  %d %s: %d\n", code, name, c.other[code])
	}
	for msg, n := range c.errors {
		fmt.Fprintf(w, "  error ×%d: %s\n", n, msg)
	}
}
