package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/apitokens/apitokens/cmd/localapi/internal/devidp"
	"github.com/apitokens/apitokens/cmd/localapi/internal/gateway"
	"github.com/apitokens/apitokens/cmd/localapi/internal/lambdas"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// Defaults of the local run. The names are stable so that logs and scripts can rely on them.
const (
	DefaultAddr = "127.0.0.1:3000"
	TableName   = "apitokens-local"
	SecretName  = "apitokens-keyring-local"
	// StateDir, under the repository root, holds the build and the identity provider's key.
	StateDir   = ".localapi"
	keyFile    = "idp-key.pem"
	apiID      = "localapi01"
	idpPath    = "/idp"
	sessionTTL = 12 * time.Hour
)

// Config says what to serve and how.
type Config struct {
	Addr string
	// Template is the SAM template; "" means template.yaml at the repository root.
	Template string
	// StateDir holds the build and the identity provider's key; "" means .localapi at the
	// repository root.
	StateDir string
	// Parallel bounds how many functions build at once.
	Parallel int
	// Output receives every line of the functions, the emulators and the gateway; it must be
	// safe for concurrent use.
	Output io.Writer
}

// Server is a running local API.
type Server struct {
	// URL is the API's base URL, e.g. http://127.0.0.1:3000.
	URL string
	// Issuer is the development identity provider's issuer URL.
	Issuer string

	stateDir  string
	app       *samtemplate.App
	idp       *devidp.Provider
	emu       *emulator.Emulator
	res       emulator.Resources
	functions map[string]*lambdas.Function
	http      *http.Server
	failed    chan error
	closeOnce sync.Once
}

// Start provisions the emulator, builds and starts every function, and serves the API. On
// error, whatever it had started is stopped.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	s := &Server{functions: map[string]*lambdas.Function{}, failed: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	out := cfg.Output
	if out == nil {
		out = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(out, "[localapi] "+format+"\n", args...) }

	root, err := samtemplate.FindRoot()
	if err != nil {
		return nil, err
	}
	tmplPath := cfg.Template
	if tmplPath == "" {
		tmplPath = filepath.Join(root, "template.yaml")
	}
	state := cfg.StateDir
	if state == "" {
		state = filepath.Join(root, StateDir)
	}
	// Absolute, since each function runs in its own folder and finds its files from there.
	if state, err = filepath.Abs(state); err != nil {
		return nil, err
	}
	s.stateDir = state
	buildDir := filepath.Join(state, "build")

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s.http = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	host := loopbackURL(ln.Addr().(*net.TCPAddr))
	s.URL, s.Issuer = host, host+idpPath
	// Closed by Close through s.http from here on: Serve is called at the end of Start.
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()

	key, err := devidp.LoadOrCreateKey(filepath.Join(state, keyFile))
	if err != nil {
		return nil, err
	}
	s.idp = devidp.New(s.Issuer, key)

	// The builds are the slow part: run them while the emulator starts.
	plain, err := samtemplate.Load(tmplPath, samtemplate.Options{})
	if err != nil {
		return nil, err
	}
	fns := slices.Collect(maps.Values(plain.Functions))
	slices.SortFunc(fns, func(a, b *samtemplate.Function) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	type built struct {
		rie string
		err error
	}
	builds := make(chan built, 1)
	go func() {
		start := time.Now()
		say("building %d functions and the runtime interface emulator (%d at a time)…", len(fns), cfg.Parallel)
		var b built
		var wg sync.WaitGroup
		var rieErr error
		wg.Go(func() { b.rie, rieErr = lambdas.BuildEmulator(ctx, root, buildDir) })
		b.err = lambdas.Build(ctx, root, buildDir, fns, cfg.Parallel)
		wg.Wait()
		b.err = errors.Join(rieErr, b.err)
		if b.err == nil {
			say("built in %s", time.Since(start).Round(100*time.Millisecond))
		}
		builds <- b
	}()

	tmpl, err := samtemplate.Open(tmplPath)
	if err != nil {
		return nil, err
	}
	if s.emu, err = emulator.Start(ctx, root); err != nil {
		return nil, err
	}
	awsCfg, err := s.emu.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("emulator config: %w", err)
	}
	if s.res, err = emulator.Provision(ctx, awsCfg, tmpl, TableName, SecretName); err != nil {
		return nil, err
	}
	say("AWS emulator on %s: table %s, secret %s", s.emu.Endpoint, s.res.TableName, SecretName)

	s.app, err = samtemplate.Load(tmplPath, samtemplate.Options{Refs: map[string]string{
		samtemplate.TableResource:  s.res.TableName,
		samtemplate.SecretResource: s.res.SecretARN,
	}})
	if err != nil {
		return nil, err
	}
	// The template's issuer is the customer's provider; locally, sessions come from ours.
	verifiers := map[string]*gateway.JWTVerifier{}
	keys := &gateway.Discovery{Issuer: s.Issuer}
	for name, a := range s.app.JWTAuthorizers {
		a.Issuer = s.Issuer
		verifiers[name] = &gateway.JWTVerifier{Issuer: s.Issuer, Audience: a.Audience, Keys: keys}
	}

	b := <-builds
	if b.err != nil {
		return nil, fmt.Errorf("build: %w", b.err)
	}

	env := map[string]string{
		"AWS_ENDPOINT_URL":      s.emu.Endpoint,
		"AWS_REGION":            emulator.Region,
		"AWS_DEFAULT_REGION":    emulator.Region,
		"AWS_ACCESS_KEY_ID":     "emulator",
		"AWS_SECRET_ACCESS_KEY": "emulator",
		"TABLE_NAME":            s.res.TableName,
		"KEYRING_SECRET_ID":     s.res.SecretARN,
	}
	if err := s.startFunctions(ctx, b.rie, buildDir, env, out); err != nil {
		return nil, err
	}

	gw, err := gateway.New(gateway.Config{
		App: s.app, JWT: verifiers, Functions: functionSet(s.functions), APIID: apiID,
		Log: log.New(out, "[api] ", 0),
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(idpPath+"/", http.StripPrefix(idpPath, s.idp))
	page, err := s.withDashboard(root, gw)
	if err != nil {
		return nil, err
	}
	mux.Handle("/", page)
	s.http.Handler = mux
	go func() {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.fail(fmt.Errorf("serve: %w", err))
		}
	}()
	return s, nil
}

// startFunctions runs every function under its own emulator process, all at once.
func (s *Server) startFunctions(ctx context.Context, rie, buildDir string, env map[string]string, out io.Writer) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, 0)
	for id, f := range s.app.Functions {
		wg.Go(func() {
			fn, err := lambdas.Start(ctx, rie, lambdas.BootstrapPath(buildDir, id), f, env, out)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			s.functions[id] = fn
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// A function's emulator should live as long as the server: report one that dies.
	for id, fn := range s.functions {
		go func() {
			<-fn.Done()
			s.fail(fmt.Errorf("the runtime interface emulator of %s exited", id))
		}()
	}
	return nil
}

func (s *Server) fail(err error) {
	select {
	case s.failed <- err:
	default:
	}
}

// Failed delivers an error when part of the server stops on its own.
func (s *Server) Failed() <-chan error { return s.failed }

// Close stops serving, then stops every function and the emulator, and waits for them.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.http.Shutdown(ctx)
			cancel()
		}
		var wg sync.WaitGroup
		for _, fn := range s.functions {
			wg.Go(fn.Stop)
		}
		wg.Wait()
		s.emu.Stop()
	})
}

// Mint returns a session for a dashboard user, signed by the development identity provider.
func (s *Server) Mint(user, environment string, admin bool) (string, error) {
	return mintSession(s.idp, s.app, user, environment, admin, sessionTTL)
}

// functionSet invokes the running functions by logical id.
type functionSet map[string]*lambdas.Function

func (fs functionSet) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	f, ok := fs[name]
	if !ok {
		return nil, fmt.Errorf("no function %s", name)
	}
	return f.Invoke(ctx, payload)
}

// loopbackURL returns the base URL of a listener, naming 127.0.0.1 when it listens on every
// interface.
func loopbackURL(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(a.Port))
}

// PrintBanner tells the developer what is served and how to call it.
func (s *Server) PrintBanner(w io.Writer) {
	admin, err1 := s.Mint("local-admin", "local-env", true)
	agent, err2 := s.Mint("local-agent", "local-env", false)

	fmt.Fprintf(w, "\nAPI Tokens page: %s/ (sign in as any user: the local identity provider asks no password)\n", s.URL)
	fmt.Fprintf(w, "\nAPI Tokens is served on %s\n\n", s.URL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  METHOD\tPATH\tFUNCTION\tAUTHORIZER")
	routes := slices.Clone(s.app.Routes)
	slices.SortStableFunc(routes, func(a, b samtemplate.Route) int { return strings.Compare(a.Path, b.Path) })
	for _, r := range routes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Method, r.Path, r.Function, s.authorizerLabel(r.Authorizer))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nAWS emulator %s (table %s, secret %s)\n", s.emu.Endpoint, s.res.TableName, SecretName)
	fmt.Fprintf(w, "Identity provider %s (discovery: %s/.well-known/openid-configuration)\n", s.Issuer, s.Issuer)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(w, "Could not mint sessions:", err)
		return
	}
	fmt.Fprintf(w, "\nSessions, valid %s (environment local-env):\n\n", strings.TrimSuffix(sessionTTL.String(), "0m0s"))
	fmt.Fprintf(w, "  # admin, user local-admin\n  export ADMIN=%s\n\n", admin)
	fmt.Fprintf(w, "  # agent, user local-agent\n  export AGENT=%s\n\n", agent)
	fmt.Fprintf(w, "More: make session USER=<user> ENVIRONMENT=<environment> ROLE=admin|agent\n\n")
	fmt.Fprintf(w, "Try:\n\n")
	fmt.Fprintf(w, "  curl -s -X POST %s/v1/tokens -H \"Authorization: Bearer $AGENT\" -H 'Content-Type: application/json' -d '{\"name\":\"Zapier Sync\"}'\n", s.URL)
	fmt.Fprintf(w, "  curl -s %s/v1/me -H \"Authorization: Bearer <the key the first call answered>\"\n\n", s.URL)
	fmt.Fprintf(w, "Ctrl-C stops everything.\n\n")
}

func (s *Server) authorizerLabel(name string) string {
	switch {
	case name == "":
		return "none"
	case s.app.JWTAuthorizers[name] != nil:
		return name + " (JWT)"
	case s.app.LambdaAuthorizers[name] != nil:
		return name + " (Lambda: " + s.app.LambdaAuthorizers[name].Function + ")"
	}
	return name
}
