package emulator

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/samtemplate"
)

func TestProvisionFromTemplate(t *testing.T) {
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
	if got := len(desc.Table.GlobalSecondaryIndexes); got != 1 || aws.ToString(desc.Table.GlobalSecondaryIndexes[0].IndexName) != "gsi1" {
		t.Errorf("indexes = %d, want gsi1 only", got)
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
