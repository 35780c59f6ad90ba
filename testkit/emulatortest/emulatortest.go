package emulatortest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

var (
	running *emulator.Emulator
	tmpl    *samtemplate.Template
	root    string
	seq     atomic.Int64
)

// Main starts the emulator, runs the package's tests and stops it. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }
func Main(m *testing.M) int {
	ctx := context.Background()
	var err error
	if root, err = samtemplate.FindRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "emulatortest:", err)
		return 1
	}
	if tmpl, err = samtemplate.Open(filepath.Join(root, "template.yaml")); err != nil {
		fmt.Fprintln(os.Stderr, "emulatortest:", err)
		return 1
	}
	if running, err = emulator.Start(ctx, root); err != nil {
		fmt.Fprintln(os.Stderr, "emulatortest:", err)
		return 1
	}
	defer running.Stop()
	return m.Run()
}

// Env is one test's share of the emulator.
type Env struct {
	emulator.Resources
	Config  aws.Config
	DB      *dynamodb.Client
	Secrets *secretsmanager.Client
	// Endpoint is the emulator's base URL.
	Endpoint string
	// Queues are the template's queues' URLs, by logical id.
	Queues map[string]string
}

// New provisions a fresh table and secret for the test, with options applied to the SDK
// configuration (a call-counting middleware, say) before the clients are made.
func New(t testing.TB, opts ...func(*aws.Config)) Env {
	t.Helper()
	if running == nil {
		t.Fatal("emulatortest: call emulatortest.Main from TestMain")
	}
	ctx := context.Background()
	cfg, err := running.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := seq.Add(1)
	res, err := emulator.ProvisionNew(ctx, cfg, tmpl, fmt.Sprintf("tokens-%d", n), fmt.Sprintf("keyring-%d", n))
	if err != nil {
		t.Fatal(err)
	}
	queues, err := emulator.ProvisionQueues(ctx, cfg, tmpl, fmt.Sprintf("t%d-", n))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(&cfg)
	}
	return Env{
		Resources: res, Config: cfg, Endpoint: running.Endpoint, Queues: queues,
		DB: dynamodb.NewFromConfig(cfg), Secrets: secretsmanager.NewFromConfig(cfg),
	}
}

// Root returns the repository root.
func Root() string { return root }
