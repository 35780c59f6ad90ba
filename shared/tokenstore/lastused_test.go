package tokenstore_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// updates records the UpdateItem requests that pass through it to the emulator.
type updates struct {
	tokenstore.DynamoDB
	got []*dynamodb.UpdateItemInput
}

func (u *updates) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	u.got = append(u.got, in)
	return u.DynamoDB.UpdateItem(ctx, in, opts...)
}

// expressionWords are the words of an update or condition expression that name no attribute.
var expressionWords = []string{"SET", "AND", "OR", "NOT", "attribute_exists", "attribute_not_exists"}

// TestTouchLastUsedNamesOnlyItsAttributes holds TouchLastUsed to what the key authorizer's role
// allows it in template.yaml: an UpdateItem that names only LastUsedAttributes (in its key and
// its expressions), on a partition beginning with LastUsedPartitionPrefix, reading nothing back.
func TestTouchLastUsedNamesOnlyItsAttributes(t *testing.T) {
	ctx := context.Background()
	_, env, _ := newStore(t)
	rec := &updates{DynamoDB: env.DB}
	s := tokenstore.New(rec, env.TableName, func() time.Time { return t0 })
	tok := newToken("env1", "alice", "x", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	rec.got = nil
	if wrote, err := s.TouchLastUsed(ctx, "env1", tok.ID, t0, 0); !wrote || err != nil {
		t.Fatalf("TouchLastUsed: got %v, %v; want a write", wrote, err)
	}
	if len(rec.got) != 1 {
		t.Fatalf("got %d UpdateItem requests, want 1", len(rec.got))
	}
	in := rec.got[0]
	allowed := tokenstore.LastUsedAttributes()
	var named []string
	for k := range in.Key {
		named = append(named, k)
	}
	for _, n := range in.ExpressionAttributeNames {
		named = append(named, n)
	}
	for _, n := range named {
		if !slices.Contains(allowed, n) {
			t.Errorf("the request names attribute %s, want only %v", n, allowed)
		}
	}
	// Names written into an expression without a placeholder count too.
	word := regexp.MustCompile(`[#:]?[A-Za-z_][A-Za-z0-9_]*`)
	for _, e := range []*string{in.UpdateExpression, in.ConditionExpression} {
		for _, w := range word.FindAllString(deref(e), -1) {
			if !strings.HasPrefix(w, "#") && !strings.HasPrefix(w, ":") && !slices.Contains(expressionWords, w) && !slices.Contains(allowed, w) {
				t.Errorf("expression %q names %s without a placeholder", deref(e), w)
			}
		}
	}
	pk, _ := in.Key["pk"].(*types.AttributeValueMemberS)
	if pk == nil || !strings.HasPrefix(pk.Value, tokenstore.LastUsedPartitionPrefix) {
		t.Errorf("partition key got %v, want one beginning with %s", in.Key["pk"], tokenstore.LastUsedPartitionPrefix)
	}
	if in.ReturnValues != "" && in.ReturnValues != types.ReturnValueNone {
		t.Errorf("ReturnValues got %s, want none", in.ReturnValues)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
