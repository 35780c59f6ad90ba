package lambdas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// Pool runs one function of the template as Lambda scales it: a call that finds every execution
// environment busy gets a new one, a cold start under an emulator process of its own, up to a
// maximum; beyond it the call is throttled, never queued. An environment idle for the idle
// timeout is shut down (see Function.Shutdown), and so is every one on Stop.
type Pool struct {
	// Name is the function's logical id.
	Name string
	cfg  PoolConfig
	ctx  context.Context

	mu       sync.Mutex
	max      int
	reason   string
	envs     map[*environment]bool
	free     []*environment // idle, the most recently used last
	starting int
	started  int // environments started so far, which numbers them
	stopped  bool
	quit     chan struct{}
	wg       sync.WaitGroup // starts and shutdowns under way
}

// PoolConfig says what a Pool runs and how far it scales.
type PoolConfig struct {
	// RIE is the emulator binary, Bootstrap the function's.
	RIE, Bootstrap string
	Function       *samtemplate.Function
	// Env is added to the function's environment, as for Start.
	Env map[string]string
	// Out receives every line, as for Start.
	Out io.Writer
	// Max is the most environments that run at once when the function sets no
	// ReservedConcurrentExecutions (which wins); below 1, 1.
	Max int
	// IdleTimeout is how long an environment may go without a call before it is shut down;
	// 0 keeps it.
	IdleTimeout time.Duration
	// OnExit, when set, is called when an environment's emulator exits without being stopped.
	OnExit func(error)
	// Options are the environments' options; Prefix and OnInit are the pool's own.
	Options Options
}

// environment is one execution environment of a pool.
type environment struct {
	n        int
	fn       *Function
	lastUsed time.Time
}

// Throttle reasons, as Lambda names them in a TooManyRequestsException.
const (
	reasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	reasonAccount  = "ConcurrentInvocationLimitExceeded"
)

// ThrottledType is the Type of the *Error a throttled call returns: Lambda's exception.
const ThrottledType = "TooManyRequestsException"

// errStopped is a call that arrives after Stop.
var errStopped = errors.New("the function is stopped")

// NewPool returns the pool of cfg.Function, with no environment yet; ctx bounds the starts.
func NewPool(ctx context.Context, cfg PoolConfig) *Pool {
	p := &Pool{Name: cfg.Function.LogicalID, cfg: cfg, ctx: ctx, envs: map[*environment]bool{}, quit: make(chan struct{})}
	p.SetMax(cfg.Max)
	if cfg.IdleTimeout > 0 {
		go p.reap(cfg.IdleTimeout)
	}
	return p
}

// SetMax changes the local maximum; a function's ReservedConcurrentExecutions still wins.
// Environments beyond a lowered maximum are shut down as soon as they are free.
func (p *Pool) SetMax(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.max, p.reason = max(n, 1), reasonAccount
	if rc := p.cfg.Function.ReservedConcurrency; rc != nil {
		p.max, p.reason = *rc, reasonReserved
	}
	for len(p.envs) > p.max && len(p.free) > 0 {
		e := p.free[0]
		p.free = p.free[1:]
		p.retire(e, "over the maximum")
	}
}

// retire forgets e and shuts it down in the background; p.mu must be held.
func (p *Pool) retire(e *environment, why string) {
	delete(p.envs, e)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.shutdown(e, why)
	}()
}

// Warm starts one environment unless one runs, so that a broken function shows at once; the
// bootstrap itself starts on the first call, as the emulator does.
func (p *Pool) Warm() error {
	p.mu.Lock()
	if len(p.envs) > 0 || p.max == 0 {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	e, err := p.acquire()
	if err == nil {
		p.release(e)
	}
	return err
}

// Invoke runs payload in a free environment, starting one when none is free and the maximum
// allows, and returns the result; a throttled call is an *Error of type ThrottledType.
func (p *Pool) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	e, err := p.acquire()
	if err != nil {
		return nil, err
	}
	defer p.release(e)
	return e.fn.Invoke(ctx, payload)
}

// InvokeEach runs payload once in every environment that runs, waiting for a busy one, and
// returns the results in the order of the environments' numbers: a look at what each
// environment answers, its memory included.
func (p *Pool) InvokeEach(ctx context.Context, payload []byte) ([][]byte, error) {
	p.mu.Lock()
	envs := make([]*environment, 0, len(p.envs))
	for e := range p.envs {
		envs = append(envs, e)
	}
	p.mu.Unlock()
	slices.SortFunc(envs, func(a, b *environment) int { return a.n - b.n })
	var out [][]byte
	var errs []error
	for _, e := range envs {
		b, err := e.fn.Invoke(ctx, payload)
		out = append(out, b)
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// acquire takes the most recently used free environment, else starts one, else throttles.
func (p *Pool) acquire() (*environment, error) {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil, fmt.Errorf("invoke %s: %w", p.Name, errStopped)
	}
	if n := len(p.free); n > 0 {
		e := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return e, nil
	}
	if running := len(p.envs) + p.starting; running >= p.max {
		p.mu.Unlock()
		return nil, &Error{Function: p.Name, Type: ThrottledType,
			Message: fmt.Sprintf("Rate Exceeded. (Reason: %s; %d of at most %d environments busy)", p.reason, running, p.max)}
	}
	p.starting++
	p.started++
	n, others, limit := p.started, len(p.envs)+p.starting-1, p.max
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()

	p.say(n, "INIT_START Environment: %d\tOthers: %d, none free\tMax: %d", n, others, limit)
	e, err := p.start(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting--
	if err != nil {
		return nil, err
	}
	if p.stopped {
		go e.fn.Stop()
		return nil, fmt.Errorf("invoke %s: %w", p.Name, errStopped)
	}
	p.envs[e] = true
	return e, nil
}

// start runs environment n under its own emulator.
func (p *Pool) start(n int) (*environment, error) {
	began := time.Now()
	opts := p.cfg.Options
	opts.Prefix = p.prefix(n)
	opts.OnInit = func(d time.Duration) {
		p.say(n, "INIT_REPORT Init Duration: %.2f ms\tEnvironment: %d\tCold start: %s", float64(d)/float64(time.Millisecond), n, time.Since(began).Round(time.Millisecond))
	}
	fn, err := StartWith(p.ctx, p.cfg.RIE, p.cfg.Bootstrap, p.cfg.Function, p.cfg.Env, p.cfg.Out, opts)
	if err != nil {
		return nil, err
	}
	e := &environment{n: n, fn: fn, lastUsed: time.Now()}
	go func() {
		<-fn.Done()
		if fn.stopping.Load() {
			return
		}
		p.drop(e)
		if p.cfg.OnExit != nil {
			p.cfg.OnExit(fmt.Errorf("the runtime interface emulator of %s (environment %d) exited", p.Name, n))
		}
	}()
	return e, nil
}

// release gives e back after a call.
func (p *Pool) release(e *environment) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.lastUsed = time.Now()
	switch {
	case p.stopped || !p.envs[e]:
	case len(p.envs) > p.max:
		p.retire(e, "over the maximum")
	default:
		p.free = append(p.free, e)
	}
}

// drop forgets e, whose emulator has exited.
func (p *Pool) drop(e *environment) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.envs, e)
	p.free = slices.DeleteFunc(p.free, func(f *environment) bool { return f == e })
}

// reap shuts down every environment idle for idle, checking a few times per idle period.
func (p *Pool) reap(idle time.Duration) {
	t := time.NewTicker(min(max(idle/4, 10*time.Millisecond), 15*time.Second))
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
		}
		p.mu.Lock()
		p.free = slices.DeleteFunc(p.free, func(e *environment) bool {
			if time.Since(e.lastUsed) < idle {
				return false
			}
			p.retire(e, "idle for "+idle.String())
			return true
		})
		p.mu.Unlock()
	}
}

// shutdown ends e and logs how.
func (p *Pool) shutdown(e *environment, why string) {
	r := e.fn.Shutdown()
	p.say(e.n, "SHUTDOWN Environment: %d\t(%s): %s", e.n, why, r)
}

// Stop shuts every environment down, at once, and waits for them and for starts under way.
func (p *Pool) Stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	close(p.quit)
	for e := range p.envs {
		p.retire(e, "stopping")
	}
	p.free = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// Count is how many environments a function has.
type Count struct {
	Function string `json:"function"`
	// Environments run, Busy of them in a call; Starting are being started.
	Environments int `json:"environments"`
	Busy         int `json:"busy"`
	Starting     int `json:"starting"`
	// Max is the most that may run, and Reserved says whether ReservedConcurrentExecutions set it.
	Max      int  `json:"max"`
	Reserved bool `json:"reserved"`
	// ColdStarts counts the environments started since the local run began.
	ColdStarts int `json:"coldStarts"`
}

// Count returns how many environments run now.
func (p *Pool) Count() Count {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Count{
		Function: p.Name, Environments: len(p.envs), Busy: len(p.envs) - len(p.free), Starting: p.starting,
		Max: p.max, Reserved: p.reason == reasonReserved, ColdStarts: p.started,
	}
}

// prefix begins environment n's lines: "[Name] " for the first, "[Name#n] " for the others.
func (p *Pool) prefix(n int) string {
	if n == 1 {
		return "[" + p.Name + "] "
	}
	return fmt.Sprintf("[%s#%d] ", p.Name, n)
}

// say prints one line of the pool's own about environment n.
func (p *Pool) say(n int, format string, args ...any) {
	if p.cfg.Out != nil {
		fmt.Fprintf(p.cfg.Out, p.prefix(n)+format+"\n", args...)
	}
}

// IsThrottled reports whether err is a throttled call.
func IsThrottled(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == ThrottledType
}
