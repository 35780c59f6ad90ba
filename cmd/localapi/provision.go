package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// provisionCommand creates the table and the key ring secret in an emulator that is already
// running (for `sam local start-api`, whose containers reach it on a fixed port), with the names
// the local run uses and env.local.json names.
func provisionCommand(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("localapi provision", flag.ContinueOnError)
	fl.SetOutput(stderr)
	endpoint := fl.String("endpoint", "http://127.0.0.1:4566", "base URL of the running emulator")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	res, err := provision(ctx, *endpoint)
	if err != nil {
		fmt.Fprintln(stderr, "localapi provision:", err)
		return 1
	}
	fmt.Fprintf(stdout, "table %s\nsecret %s (%s)\n", res.TableName, SecretName, res.SecretARN)
	return 0
}

func provision(ctx context.Context, endpoint string) (emulator.Resources, error) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		return emulator.Resources{}, err
	}
	tmpl, err := samtemplate.Open(filepath.Join(root, "template.yaml"))
	if err != nil {
		return emulator.Resources{}, err
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(emulator.Region),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("emulator", "emulator", "")),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		return emulator.Resources{}, fmt.Errorf("emulator config: %w", err)
	}
	return emulator.Provision(ctx, cfg, tmpl, TableName, SecretName)
}
