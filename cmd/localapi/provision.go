package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// provisionCommand creates the table and the key ring secret in an emulator that is already
// running (for `sam local start-api`, whose containers reach it on a fixed port), with the names
// the local run uses and env.local.json names. Run again, it finds them and keeps them.
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
	if res.KeyRing == "" {
		fmt.Fprintf(stdout, "table %s and secret %s (%s) were there already: kept as they are\n", res.TableName, SecretName, res.SecretARN)
		return 0
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
	if res, found, err := existing(ctx, cfg); err != nil || found {
		return res, err
	}
	return emulator.Provision(ctx, cfg, tmpl, TableName, SecretName)
}

// existing finds the table and the secret of an earlier provision. Both there is found; one
// without the other is an error, since creating the missing one could pair a key ring with
// keys it did not make.
func existing(ctx context.Context, cfg aws.Config) (emulator.Resources, bool, error) {
	_, tableErr := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(TableName)})
	sec, secretErr := secretsmanager.NewFromConfig(cfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(SecretName)})
	var noTable *ddbtypes.ResourceNotFoundException
	var noSecret *smtypes.ResourceNotFoundException
	tableGone, secretGone := errors.As(tableErr, &noTable), errors.As(secretErr, &noSecret)
	switch {
	case tableGone && secretGone:
		return emulator.Resources{}, false, nil
	case tableErr == nil && secretErr == nil:
		return emulator.Resources{TableName: TableName, SecretARN: aws.ToString(sec.ARN)}, true, nil
	case tableGone != secretGone && (tableErr == nil || secretErr == nil):
		return emulator.Resources{}, false, fmt.Errorf("only one of table %s and secret %s exists: restart the emulator to start empty", TableName, SecretName)
	}
	return emulator.Resources{}, false, errors.Join(tableErr, secretErr)
}
