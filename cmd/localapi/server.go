package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apitokens/apitokens/cmd/localapi/internal/devidp"
	"github.com/apitokens/apitokens/cmd/localapi/internal/gateway"
	"github.com/apitokens/apitokens/shared/webhooks"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// Defaults of the local run. The names are stable so that logs and scripts can rely on them.
const (
	DefaultAddr = "127.0.0.1:3000"
	TableName   = "apitokens-local"
	SecretName  = "apitokens-keyring-local"
	// StateDir, under the repository root, holds the build, the identity provider's key and the
	// stored data.
	StateDir = ".localapi"
	keyFile  = "idp-key.pem"
	dataFile = "data.json"
	// addressFile, in the state folder, holds the base URL of the last local API started with
	// it, where `localapi session` and `localapi report-leak` find it.
	addressFile = "address"
	apiID       = "localapi01"
	idpPath     = "/idp"
	sessionTTL  = 12 * time.Hour
)

// Config says what to serve and how.
type Config struct {
	Addr string
	// Template is the SAM template; "" means template.yaml at the repository root.
	Template string
	// StateDir holds the build, the identity provider's key and the stored data; "" means
	// .localapi at the repository root.
	StateDir string
	// Fresh starts with an empty table and a new key ring, discarding the stored data.
	Fresh bool
	// Output receives every line of the functions, the emulators and the gateway; it must be
	// safe for concurrent use.
	Output io.Writer
	// Concurrency is the most execution environments a function runs at once when the template
	// sets no ReservedConcurrentExecutions for it; 0 means DefaultConcurrency.
	Concurrency int
	// IdleTimeout is how long an execution environment goes without a call before it is shut
	// down; 0 means DefaultIdleTimeout, a negative value never.
	IdleTimeout time.Duration
	// Parameters overrides template parameters' defaults, as `sam deploy
	// --parameter-overrides` does (tests shorten caches with it).
	Parameters map[string]string
	// WebhookRetrySeconds is the sender's wait before each retry of a failed webhook, written
	// as WEBHOOK_RETRY_SECONDS reads it ("1,1,1"); "" keeps the deployed schedule
	// (webhooks.DefaultBackoff). Tests and the bench shorten it to see retries in seconds.
	WebhookRetrySeconds string
}

// Defaults of the functions' scaling.
const (
	DefaultConcurrency = 4
	DefaultIdleTimeout = 5 * time.Minute
)

// Server is a running local API.
type Server struct {
	// URL is the API's base URL, e.g. http://127.0.0.1:3000.
	URL string
	// Issuer is the development identity provider's issuer URL.
	Issuer string

	root      string
	template  string
	stateDir  string
	out       io.Writer
	app       *samtemplate.App
	idp       *devidp.Provider
	scanKeys  http.Handler // the local secret scanning key's public half, as GitHub publishes its own
	emu       *emulator.Emulator
	res       emulator.Resources
	data      *dataKeeper
	queues    map[string]string // the template's queues' URLs, by logical id (events.go)
	sqs       *sqs.Client
	sender    string // the function the events queue's event source mapping feeds
	functions *functionSet
	// concurrency and idleTimeout are Config's, defaults applied.
	concurrency int
	idleTimeout time.Duration
	// parameters overrides the template's parameter defaults (Config.Parameters).
	parameters map[string]string
	// webhookRetry is Config.WebhookRetrySeconds.
	webhookRetry string
	http         *http.Server
	failed       chan error
	cancel       context.CancelFunc // ends builds and starts still under way
	closeOnce    sync.Once
}

// Start provisions the emulator (restoring the stored data unless cfg.Fresh), starts building
// every function, and serves the API. It returns once the API answers; a route whose function
// is still building waits for it (Ready says when all are up). On error, whatever it had
// started is stopped.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	s := &Server{failed: make(chan error, 1), out: cfg.Output}
	ctx, s.cancel = context.WithCancel(ctx)
	if s.out == nil {
		s.out = io.Discard
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.locate(cfg); err != nil {
		return nil, err
	}
	s.concurrency, s.idleTimeout = cmp.Or(cfg.Concurrency, DefaultConcurrency), cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	if s.idleTimeout < 0 {
		s.idleTimeout = 0
	}
	ln, err := s.listen(cfg.Addr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	s.parameters = cfg.Parameters
	if cfg.WebhookRetrySeconds != "" {
		if _, err := webhooks.ParseBackoff(cfg.WebhookRetrySeconds); err != nil {
			return nil, err
		}
		s.webhookRetry = cfg.WebhookRetrySeconds
	}
	plain, err := samtemplate.Load(s.template, samtemplate.Options{Parameters: cfg.Parameters})
	if err != nil {
		return nil, err
	}
	s.functions = s.build(ctx, plain)
	if err := s.startEmulator(ctx, cfg.Fresh); err != nil {
		return nil, err
	}
	if err := s.loadApp(); err != nil {
		return nil, err
	}
	if err := s.provisionQueues(ctx); err != nil {
		return nil, err
	}
	go s.startFunctions(ctx)
	go s.feedSender(ctx)
	return s, s.serve(ln)
}

// say prints one line of the local run's own.
func (s *Server) say(format string, args ...any) {
	fmt.Fprintf(s.out, "[localapi] "+format+"\n", args...)
}

// locate finds the repository, the template and the state folder.
func (s *Server) locate(cfg Config) error {
	root, err := samtemplate.FindRoot()
	if err != nil {
		return err
	}
	s.root, s.template, s.stateDir = root, cfg.Template, cfg.StateDir
	if s.template == "" {
		s.template = filepath.Join(root, "template.yaml")
	}
	if s.stateDir == "" {
		s.stateDir = filepath.Join(root, StateDir)
	}
	// Absolute, since each function runs in its own folder and finds its files from there.
	s.stateDir, err = filepath.Abs(s.stateDir)
	return err
}

// listen binds the API's address and makes the identity provider whose issuer it names.
func (s *Server) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.URL = loopbackURL(ln.Addr().(*net.TCPAddr))
	s.Issuer = s.URL + idpPath
	if err := writeAddress(s.stateDir, s.URL); err != nil {
		ln.Close()
		return nil, err
	}
	key, err := devidp.LoadOrCreateKey(filepath.Join(s.stateDir, keyFile))
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.idp = devidp.New(s.Issuer, key)
	scanKey, err := loadOrCreateScanKey(filepath.Join(s.stateDir, scanKeyFile))
	if err == nil {
		s.scanKeys, err = scanKeysHandler(scanKey)
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// loadApp reads the template again with the emulator's table and secret in place of the
// template's, as CloudFormation would resolve the !Refs.
func (s *Server) loadApp() (err error) {
	s.app, err = samtemplate.Load(s.template, samtemplate.Options{Parameters: s.parameters, Refs: map[string]string{
		samtemplate.TableResource:  s.res.TableName,
		samtemplate.SecretResource: s.res.SecretARN,
	}})
	return err
}

// serve answers on ln: the identity provider under /idp, the gateway everywhere else.
func (s *Server) serve(ln net.Listener) error {
	handler, err := s.handler()
	if err != nil {
		return err
	}
	s.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.fail(fmt.Errorf("serve: %w", err))
		}
	}()
	return nil
}

// handler routes the local run's paths.
func (s *Server) handler() (http.Handler, error) {
	// The template's issuer is the customer's provider; locally, sessions come from ours.
	verifiers := map[string]*gateway.JWTVerifier{}
	keys := &gateway.Discovery{Issuer: s.Issuer}
	for name, a := range s.app.JWTAuthorizers {
		a.Issuer = s.Issuer
		verifiers[name] = &gateway.JWTVerifier{Issuer: s.Issuer, Audience: a.Audience, Keys: keys}
	}
	gw, err := gateway.New(gateway.Config{
		App: s.app, JWT: verifiers, Functions: s.functions, APIID: apiID,
		Log: log.New(s.out, "[api] ", 0),
	})
	if err != nil {
		return nil, err
	}
	if s.app.Functions[ownerLeftFunction] != nil {
		s.idp.OnDisable(s.disableUser)
	}
	mux := http.NewServeMux()
	mux.Handle(idpPath+"/", http.StripPrefix(idpPath, s.idp))
	mux.Handle(scanKeysPath, s.scanKeys)
	mux.Handle(environmentsPath, http.HandlerFunc(s.serveEnvironments))
	// The page's files are served as they are; the API's answers are what may write.
	page, err := s.withDashboard(s.root, s.data.afterWrites(gw))
	if err != nil {
		return nil, err
	}
	mux.Handle("/", page)
	return mux, nil
}

func (s *Server) fail(err error) {
	select {
	case s.failed <- err:
	default:
	}
}

// Failed delivers an error when part of the server stops on its own.
func (s *Server) Failed() <-chan error { return s.failed }

// Close stops serving (letting requests in progress finish), saves the stored data, then stops
// every function and the emulator, and waits for them.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.http.Shutdown(ctx)
			cancel()
		}
		if err := s.data.close(); err != nil {
			s.say("%v", err)
		}
		s.functions.stop()
		s.emu.Stop()
	})
}

// Mint returns a session for a dashboard user, signed by the development identity provider.
func (s *Server) Mint(user, environment string, admin bool) (string, error) {
	return mintSession(s.idp, s.app, user, environment, admin, sessionTTL)
}

// writeAddress records the API's base URL in the state folder.
func writeAddress(stateDir, url string) error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(stateDir, addressFile), []byte(url+"\n"), 0o600)
}

// apiBase is the base URL of the local API a command talks to: addr when one is given, else the
// one the last local API of the state folder recorded, else DefaultAddr's.
func apiBase(addr, stateDir string) string {
	if addr == "" {
		if b, err := os.ReadFile(filepath.Join(stateDir, addressFile)); err == nil && strings.HasPrefix(string(b), "http://") {
			return strings.TrimSpace(string(b))
		}
		addr = DefaultAddr
	}
	if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "0.0.0.0:") {
		addr = "127.0.0.1:" + addr[strings.LastIndexByte(addr, ':')+1:]
	}
	return "http://" + addr
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
