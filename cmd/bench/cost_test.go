package main

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestItemSize(t *testing.T) {
	for _, tt := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string", map[string]types.AttributeValue{"pk": s("abc")}, 2 + 3},
		{"number: a byte per two significant digits, plus one", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "-1234.500"}}, 1 + 3 + 1},
		{"zero", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "0"}}, 1 + 1},
		{"boolean and null", map[string]types.AttributeValue{"b": &types.AttributeValueMemberBOOL{}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"binary", map[string]types.AttributeValue{"bin": &types.AttributeValueMemberB{Value: make([]byte, 10)}}, 3 + 10},
		{"map: 3 bytes, a byte per element, names and values", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"ab": s("xyz")}}}, 1 + 3 + 1 + 2 + 3},
		{"list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), s("bc")}}}, 1 + 3 + 2 + 3},
		{"string set", map[string]types.AttributeValue{"ss": &types.AttributeValueMemberSS{Value: []string{"a", "bc"}}}, 2 + 3},
		{"multi-byte string", map[string]types.AttributeValue{"é": s("ü")}, 2 + 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := itemSize(tt.item); got != tt.want {
				t.Errorf("itemSize = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestUnits(t *testing.T) {
	for _, tt := range []struct {
		got, want float64
		what      string
	}{
		{readUnits(0, true), 1, "a missing item, strongly consistent"},
		{readUnits(4096, true), 1, "4 KB"},
		{readUnits(4097, true), 2, "just over 4 KB"},
		{readUnits(5000, false), 1, "eventually consistent, two units halved"},
		{readUnits(100, false), 0.5, "eventually consistent, small"},
		{writeUnits(0), 1, "a write of nothing"},
		{writeUnits(1024), 1, "1 KB"},
		{writeUnits(1025), 2, "just over 1 KB"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.what, tt.got, tt.want)
		}
	}
}

func TestPerMillion(t *testing.T) {
	c := Cost{MemoryMB: 256, Usage: Usage{ReadUnits: 1, WriteUnits: 4, SecretsCalls: 1}, Duration: 2400 * time.Microsecond, Gateway: true}
	dynamo, secrets, lambda, gateway := c.PerMillion()
	// 3 ms billed at 0.25 GB: 0.00075 GB-s per call.
	for _, tt := range []struct {
		what      string
		got, want float64
	}{
		{"DynamoDB", dynamo, 1*0.125 + 4*0.625},
		{"Secrets Manager", secrets, 5},
		{"Lambda", lambda, 0.20 + 0.00075*1e6*0.0000133334},
		{"HTTP API", gateway, 1},
	} {
		if math.Abs(tt.got-tt.want) > 1e-9 {
			t.Errorf("%s: got %v, want %v", tt.what, tt.got, tt.want)
		}
	}
	c.Gateway = false
	if _, _, _, gw := c.PerMillion(); gw != 0 {
		t.Errorf("a check's HTTP API price: got %v, want 0", gw)
	}
}

// TestCapacityMeter checks the meter's units against writes and reads of known sizes in the
// emulator, read off the wire by the proxy the functions call through.
func TestCapacityMeter(t *testing.T) {
	ctx := context.Background()
	env := emulatortest.New(t)
	meter := &capacityMeter{db: env.DB, keys: []string{"pk", "sk"}}
	proxy, err := startMeterProxy(meter, env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	cfg := env.Config.Copy()
	cfg.BaseEndpoint = aws.String(proxy.url)
	db, sm := dynamodb.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	table := aws.String(env.TableName)
	item := func(sk string, size int) map[string]types.AttributeValue {
		// pk (2) + "p" (1) + sk (2) + sk's value + "data" (4) + the padding
		return map[string]types.AttributeValue{"pk": s("p"), "sk": s(sk), "data": s(strings.Repeat("x", size-9-len(sk)))}
	}
	step := func(what string, call func() error, want Usage) {
		t.Helper()
		meter.take()
		if err := call(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := meter.take(); got != want {
			t.Errorf("%s: got %+v, want %+v", what, got, want)
		}
	}
	step("put 1500 bytes", func() error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("a", 1500)})
		return err
	}, Usage{WriteUnits: 2})
	step("overwrite with 100 bytes: billed on the larger", func() error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("a", 100)})
		return err
	}, Usage{WriteUnits: 2})
	step("get, strongly consistent", func() error {
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: map[string]types.AttributeValue{"pk": s("p"), "sk": s("a")}, ConsistentRead: aws.Bool(true)})
		return err
	}, Usage{ReadUnits: 1})
	step("transaction: a put and a condition check, twice each", func() error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: table, Item: item("b", 3000)}},
			{ConditionCheck: &types.ConditionCheck{TableName: table, Key: map[string]types.AttributeValue{"pk": s("p"), "sk": s("a")}, ConditionExpression: aws.String("attribute_exists(pk)")}},
		}})
		return err
	}, Usage{WriteUnits: 2*3 + 2*1})
	step("query of 3100 bytes, eventually consistent", func() error {
		_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: table, KeyConditionExpression: aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p")}})
		return err
	}, Usage{ReadUnits: 0.5})
	step("a Secrets Manager call", func() error {
		_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.SecretARN)})
		return err
	}, Usage{SecretsCalls: 1})
}

// TestCosts measures every action against the emulator and checks what each must consume.
func TestCosts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every action against the emulator")
	}
	ctx := context.Background()
	env := emulatortest.New(t)
	tmplPath := filepath.Join(emulatortest.Root(), "template.yaml")
	tmpl, err := samtemplate.Open(tmplPath)
	if err != nil {
		t.Fatal(err)
	}
	app, err := samtemplate.Load(tmplPath, samtemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := newScanner()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(scan.Close)
	b := buildForTest(t, app)
	got, err := costs(ctx, &awsSide{cfg: env.Config, tmpl: tmpl, endpoint: env.Endpoint, scan: scan}, app, b, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	byAction := map[string]Cost{}
	for _, c := range got {
		byAction[c.Action] = c
	}
	if want := len(costActions(app)); len(byAction) != want {
		t.Fatalf("measured %d actions, want %d", len(byAction), want)
	}
	for _, tt := range []struct {
		action            string
		reads, writes     bool // whether any
		firstSecretsCalls int
	}{
		{"check uncached", true, true, 1}, // the key's first use notes lastUsedAt
		{"check cached", false, false, 1},
		{"POST /v1/tokens", true, true, 1}, // the policy read, then one transaction
		{"GET /v1/tokens/{id}", true, false, 0},
		{"GET /v1/tokens/{id}/usage", true, false, 0}, // the token, then a day of its usage
		{"PATCH /v1/tokens/{id}", true, true, 0},
		{"POST /v1/tokens/{id}/reveal", true, true, 1},   // the audit entry
		{"POST /v1/tokens/{id}/activate", true, true, 0}, // a suspended token
		{"DELETE /v1/tokens/{id}", true, true, 0},
		{"POST /v1/tokens/{id}/roll", true, true, 1},                // the new key's hash needs the key ring
		{"POST /v1/tokens/{id}/previous-key/revoke", true, true, 0}, // a key in its grace
		{"POST /v1/hooks/{source}", false, true, 0},
		{"POST /v1/secret-scanning/github", true, true, 1}, // a key of ours: looked up by its hash, then suspended
	} {
		c := byAction[tt.action]
		if (c.ReadUnits > 0) != tt.reads || (c.WriteUnits > 0) != tt.writes || c.SecretsCalls != 0 || c.FirstSecretsCalls != tt.firstSecretsCalls {
			t.Errorf("%s: %+v; want reads %v, writes %v, no Secrets Manager call when warm, %d on the first", tt.action, c, tt.reads, tt.writes, tt.firstSecretsCalls)
		}
	}
	if c := byAction["check uncached"]; c.ReadUnits != 1 {
		t.Errorf("check uncached: %v read units, want 1 (one strongly consistent GetItem)", c.ReadUnits)
	}
}
