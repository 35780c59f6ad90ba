package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/testkit/emulatortest"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }

func store(env emulatortest.Env, path string) *Store {
	return &Store{DB: env.DB, Secrets: env.Secrets, Table: env.TableName, SecretID: env.SecretARN, Path: path}
}

// items returns every item of the table.
func items(t *testing.T, env emulatortest.Env) []map[string]types.AttributeValue {
	t.Helper()
	out, err := env.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(env.TableName), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

func TestSaveAndRestore(t *testing.T) {
	ctx := context.Background()
	from := emulatortest.New(t)
	path := filepath.Join(t.TempDir(), "state", "data.json")
	// One item with every type of attribute, and enough more to need several batches.
	every := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ENV#e"}, "sk": &types.AttributeValueMemberS{Value: "every"},
		"n":    &types.AttributeValueMemberN{Value: "12345678901234567890.5"},
		"b":    &types.AttributeValueMemberB{Value: []byte{0, 1, 0xff}},
		"bool": &types.AttributeValueMemberBOOL{Value: false},
		"null": &types.AttributeValueMemberNULL{Value: true},
		"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
		"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"s": &types.AttributeValueMemberS{Value: ""}, "empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberN{Value: "1"}, &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		}},
	}
	put := func(item map[string]types.AttributeValue) {
		if _, err := from.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(from.TableName), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	put(every)
	for i := range 60 {
		put(map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "ENV#e"}, "sk": &types.AttributeValueMemberS{Value: "TOKEN#" + string(rune('A'+i))},
		})
	}
	ring := `{"versions":[{"version":2}]}`
	if _, err := from.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(from.SecretARN), SecretString: aws.String(ring)}); err != nil {
		t.Fatal(err)
	}

	n, err := store(from, path).Save(ctx)
	if err != nil || n != 61 {
		t.Fatalf("Save = %d, %v; want 61 items", n, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file: %v, %v; want mode 0600", fi, err)
	}

	to := emulatortest.New(t)
	restored, n, err := store(to, path).Restore(ctx)
	if err != nil || !restored || n != 61 {
		t.Fatalf("Restore = %v, %d, %v; want true, 61", restored, n, err)
	}
	if got, want := len(items(t, to)), 61; got != want {
		t.Errorf("items after restore: got %d, want %d", got, want)
	}
	got, err := to.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(to.TableName), Key: map[string]types.AttributeValue{
		"pk": every["pk"], "sk": every["sk"],
	}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Item, every) {
		t.Errorf("restored item:\n got %#v\nwant %#v", got.Item, every)
	}
	sec, err := to.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(to.SecretARN)})
	if err != nil || aws.ToString(sec.SecretString) != ring {
		t.Errorf("key ring after restore: got %q, %v; want %q", aws.ToString(sec.SecretString), err, ring)
	}
}

func TestRestoreWithoutSnapshotChangesNothing(t *testing.T) {
	env := emulatortest.New(t)
	before, err := env.Secrets.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.SecretARN)})
	if err != nil {
		t.Fatal(err)
	}
	restored, n, err := store(env, filepath.Join(t.TempDir(), "none.json")).Restore(context.Background())
	if err != nil || restored || n != 0 {
		t.Errorf("Restore = %v, %d, %v; want false, 0, nil", restored, n, err)
	}
	after, err := env.Secrets.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.SecretARN)})
	if err != nil || aws.ToString(after.VersionId) != aws.ToString(before.VersionId) || len(items(t, env)) != 0 {
		t.Errorf("after Restore without a snapshot: secret version %s → %s, %d items; want unchanged and none",
			aws.ToString(before.VersionId), aws.ToString(after.VersionId), len(items(t, env)))
	}
}

func TestRestoreRefusesAForeignFile(t *testing.T) {
	env := emulatortest.New(t)
	path := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(path, []byte(`{"hello":"world"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if restored, _, err := store(env, path).Restore(context.Background()); err == nil || restored {
		t.Errorf("Restore of a foreign file = %v, %v; want an error", restored, err)
	}
}
