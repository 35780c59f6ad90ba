package emulator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// Region is the region the emulator's resources live in.
const Region = "us-east-1"

// Emulator is a running moto server.
type Emulator struct {
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// Start runs moto's server (tools/emulator.py with the Python of root/.venv) on a loopback port
// that it binds itself and reports, so that no other server can take the port in between, and
// waits until it answers. The server dies with the calling process.
func Start(ctx context.Context, root string) (*Emulator, error) {
	python := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("the project's Python environment is missing (run `make venv`): %w", err)
	}
	script := filepath.Join(root, "tools", "emulator.py")
	var lastErr error
	for range 3 {
		e, err := startOn(ctx, python, script)
		if err == nil {
			return e, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOn(ctx context.Context, python, script string) (*Emulator, error) {
	cmd := exec.Command(python, script, "--host", "127.0.0.1", "--port", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = nil
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start moto server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto server: %w", err)
	}
	e := &Emulator{cmd: cmd, done: make(chan struct{})}
	ports := make(chan int, 1)
	go func() {
		// The first line names the port; the rest is read and dropped, so writes never block.
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		if port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "port "))); err == nil && port > 0 {
			ports <- port
		}
		_, _ = io.Copy(io.Discard, r)
		_ = cmd.Wait()
		close(e.done)
	}()

	deadline := time.Now().Add(30 * time.Second)
	select {
	case port := <-ports:
		e.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
	case <-e.done:
		return nil, errors.New("moto server exited while starting")
	case <-ctx.Done():
		e.Stop()
		return nil, ctx.Err()
	case <-time.After(time.Until(deadline)):
		e.Stop()
		return nil, errors.New("moto server did not listen within 30s")
	}
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-e.done:
			return nil, errors.New("moto server exited while starting")
		case <-ctx.Done():
			e.Stop()
			return nil, ctx.Err()
		default:
		}
		if resp, err := client.Get(e.Endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			return e, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.Stop()
	return nil, errors.New("moto server did not answer within 30s")
}

// Stop ends the server and waits for it.
func (e *Emulator) Stop() {
	if e == nil || e.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.done
	}
}

// Config returns an AWS SDK configuration that talks to the emulator with fixed test
// credentials.
func (e *Emulator) Config(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("emulator", "emulator", "")),
	)
	// Set on the configuration, not loaded as one of its sources, which clients would prefer:
	// a test can then point the clients elsewhere (a proxy) by changing BaseEndpoint alone.
	cfg.BaseEndpoint = aws.String(e.Endpoint)
	return cfg, err
}

// Resources names what Provision created.
type Resources struct {
	TableName string
	SecretARN string
	// KeyRing is the secret's value, for tests that rotate it.
	KeyRing string
}

// Provision creates the template's table (named tableName) with its time-to-live attribute, and
// the key ring secret (named secretName) with material generated as the template would.
// A name already taken is an error.
func Provision(ctx context.Context, cfg aws.Config, tmpl *samtemplate.Template, tableName, secretName string) (Resources, error) {
	return provision(ctx, cfg, tmpl, tableName, secretName, false)
}

// ProvisionNew is Provision for names that nothing else can have taken, such as a test's own on
// the emulator it started. A create answered "already exists" can then only be the SDK retrying
// a create whose answer was lost on the way (a dropped connection), and counts as done.
func ProvisionNew(ctx context.Context, cfg aws.Config, tmpl *samtemplate.Template, tableName, secretName string) (Resources, error) {
	return provision(ctx, cfg, tmpl, tableName, secretName, true)
}

func provision(ctx context.Context, cfg aws.Config, tmpl *samtemplate.Template, tableName, secretName string, fresh bool) (Resources, error) {
	in, err := tmpl.CreateTableInput(tableName)
	if err != nil {
		return Resources{}, err
	}
	db := dynamodb.NewFromConfig(cfg)
	var inUse *ddbtypes.ResourceInUseException
	if _, err := db.CreateTable(ctx, in); err != nil && !(fresh && errors.As(err, &inUse)) {
		return Resources{}, fmt.Errorf("create table %s: %w", tableName, err)
	}
	ttl, err := tmpl.TTLAttribute()
	if err != nil {
		return Resources{}, err
	}
	if ttl != "" {
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(tableName),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(ttl), Enabled: aws.Bool(true)},
		})
		if err != nil {
			return Resources{}, fmt.Errorf("table %s: enable ttl: %w", tableName, err)
		}
	}
	ring, err := tmpl.GenerateSecretString()
	if err != nil {
		return Resources{}, err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	sec, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(secretName),
		SecretString: aws.String(ring),
	})
	var exists *smtypes.ResourceExistsException
	if fresh && errors.As(err, &exists) {
		// The retry sent the same material as the lost create, so ring is what is stored.
		desc, derr := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretName)})
		if derr != nil {
			return Resources{}, fmt.Errorf("create secret %s: %w; describe it: %w", secretName, err, derr)
		}
		return Resources{TableName: tableName, SecretARN: aws.ToString(desc.ARN), KeyRing: ring}, nil
	}
	if err != nil {
		return Resources{}, fmt.Errorf("create secret %s: %w", secretName, err)
	}
	return Resources{TableName: tableName, SecretARN: aws.ToString(sec.ARN), KeyRing: ring}, nil
}
