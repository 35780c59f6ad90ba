// Command localapi runs the whole API on one machine with no AWS account and no Docker: the AWS
// emulator (moto) provisioned from template.yaml, every function built and run under the AWS
// Lambda Runtime Interface Emulator, and the template's HttpApi served on 127.0.0.1:3000 with
// both of its authorizers and a development identity provider for dashboard sessions.
//
// Usage:
//
//	localapi [-addr 127.0.0.1:3000] [-template template.yaml] [-state .localapi] [-fresh] [-concurrency 4] [-idle 5m]
//	         [-webhook-retry 1,1,1]
//	localapi session -user U -environment E -role admin|agent [-addr 127.0.0.1:3000] [-ttl 12h]
//	localapi provision [-endpoint http://127.0.0.1:4566]
//
// provision creates the table and the secret in an emulator started by hand, for
// `sam local start-api` (see docs/local-run.md).
//
// The table and the key ring are stored in the state folder and put back on the next start;
// -fresh starts empty. Each function runs as many execution environments as the calls in flight
// need, up to -concurrency (or its ReservedConcurrentExecutions), each shut down after -idle
// without a call. Ctrl-C (SIGINT) or SIGTERM stores the data and stops everything it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "session":
			os.Exit(sessionCommand(os.Args[2:], os.Stdout, os.Stderr))
		case "provision":
			os.Exit(provisionCommand(os.Args[2:], os.Stdout, os.Stderr))
		case "report-leak":
			os.Exit(reportLeakCommand(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(serveCommand(os.Args[1:]))
}

func serveCommand(args []string) int {
	fs := flag.NewFlagSet("localapi", flag.ContinueOnError)
	cfg := Config{}
	fs.StringVar(&cfg.Addr, "addr", DefaultAddr, "address to serve the API on")
	fs.StringVar(&cfg.Template, "template", "", "SAM template (default: template.yaml at the repository root)")
	fs.StringVar(&cfg.StateDir, "state", "", "folder for the build, the signing key and the stored data (default: .localapi at the repository root)")
	fs.BoolVar(&cfg.Fresh, "fresh", false, "start with an empty table and a new key ring, discarding the stored data")
	fs.IntVar(&cfg.Concurrency, "concurrency", DefaultConcurrency, "most execution environments per function at once, unless the template sets ReservedConcurrentExecutions")
	fs.DurationVar(&cfg.IdleTimeout, "idle", DefaultIdleTimeout, "shut an execution environment down after this long without a call (negative: never)")
	fs.StringVar(&cfg.WebhookRetrySeconds, "webhook-retry", "", "seconds the sender waits before each retry of a failed webhook, e.g. 1,1,1 (default: the deployed schedule, 10,30,60 then hours)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	console := &syncWriter{w: os.Stdout}
	cfg.Output = console

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localapi:", err)
		return 1
	}
	defer srv.Close()
	srv.PrintBanner(console)
	go printKeyWhenReady(ctx, srv, console)
	select {
	case <-ctx.Done():
		fmt.Fprintln(console, "[localapi] stopping…")
	case err := <-srv.Failed():
		fmt.Fprintln(os.Stderr, "localapi:", err)
		return 1
	}
	srv.Close()
	fmt.Fprintln(console, "[localapi] stopped")
	return 0
}

// printKeyWhenReady waits for every function, then prints a key for the documentation's
// examples.
func printKeyWhenReady(ctx context.Context, srv *Server, w io.Writer) {
	if srv.Ready(ctx) != nil {
		return // Failed reports it
	}
	key, err := srv.ExampleKey(ctx)
	if err != nil {
		fmt.Fprintln(w, "[localapi] no example key:", err)
		return
	}
	srv.PrintKey(w, key)
}

// syncWriter serialises writes from the processes' output copiers, so lines never interleave.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
