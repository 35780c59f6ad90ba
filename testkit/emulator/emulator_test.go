package emulator

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// startEmulator starts an emulator for the test and reads the template.
func startEmulator(t *testing.T) (aws.Config, *samtemplate.Template) {
	t.Helper()
	ctx := context.Background()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Open(root + "/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	emu, err := Start(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Stop)
	cfg, err := emu.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, tmpl
}

func TestProvisionFromTemplate(t *testing.T) {
	ctx := context.Background()
	cfg, tmpl := startEmulator(t)
	res, err := Provision(ctx, cfg, tmpl, "tokens", "keyring")
	if err != nil {
		t.Fatal(err)
	}

	desc, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("tokens")})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(desc.Table.KeySchema); got != 2 {
		t.Errorf("key schema has %d elements, want 2 (pk, sk)", got)
	}
	var indexes []string
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		indexes = append(indexes, aws.ToString(g.IndexName))
	}
	if slices.Sort(indexes); !slices.Equal(indexes, []string{"gsi1", "gsi2"}) {
		t.Errorf("indexes = %v, want the template's gsi1 and gsi2", indexes)
	}
	ttl, err := dynamodb.NewFromConfig(cfg).DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("tokens")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(ttl.TimeToLiveDescription.AttributeName); got != "ttl" {
		t.Errorf("ttl attribute = %q, want ttl", got)
	}

	sec, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(res.SecretARN)})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(sec.SecretString)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["current"] != "k1" || len(doc["k1"]) != 64 {
		t.Errorf("secret has current=%q and a k1 of %d characters, want k1 and 64", doc["current"], len(doc["k1"]))
	}
	if _, err := keyring.Parse([]byte(aws.ToString(sec.SecretString))); err != nil {
		t.Errorf("the generated secret is not a valid key ring: %v", err)
	}
}

// TestProvisionNewTakesItsOwnRetry: on names already taken, Provision fails, and ProvisionNew,
// whose names can only have been taken by its own create retried after a lost answer, answers
// the resources that are there.
func TestProvisionNewTakesItsOwnRetry(t *testing.T) {
	ctx := context.Background()
	cfg, tmpl := startEmulator(t)
	first, err := Provision(ctx, cfg, tmpl, "tokens", "keyring")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Provision(ctx, cfg, tmpl, "tokens", "keyring"); err == nil || !strings.Contains(err.Error(), "create table tokens") {
		t.Errorf("Provision on taken names: got error %v, want the table's create refused", err)
	}
	again, err := ProvisionNew(ctx, cfg, tmpl, "tokens", "keyring")
	if err != nil {
		t.Fatalf("ProvisionNew on its own resources: %v", err)
	}
	if again.TableName != first.TableName || again.SecretARN != first.SecretARN {
		t.Errorf("ProvisionNew answered table %q secret %q, want %q and %q", again.TableName, again.SecretARN, first.TableName, first.SecretARN)
	}
	tables, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := secretsmanager.NewFromConfig(cfg).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables.TableNames) != 1 || len(secrets.SecretList) != 1 {
		t.Errorf("%d tables and %d secrets stored, want 1 and 1", len(tables.TableNames), len(secrets.SecretList))
	}
}
