package tokenstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// UsageCounts is what one token's calls came to, by outcome: let through, refused by its rate
// limit, refused by its monthly quota, and refused by the key authorizer (permission, address,
// policy, an inactive or expired token).
type UsageCounts struct {
	Allowed, RateLimited, QuotaExhausted, Refused int64
}

// Add adds o to c.
func (c *UsageCounts) Add(o UsageCounts) {
	c.Allowed += o.Allowed
	c.RateLimited += o.RateLimited
	c.QuotaExhausted += o.QuotaExhausted
	c.Refused += o.Refused
}

// Total is every call counted.
func (c UsageCounts) Total() int64 { return c.Allowed + c.RateLimited + c.QuotaExhausted + c.Refused }

// UsageRetention is how long a usage item is kept after its hour.
const UsageRetention = 400 * 24 * time.Hour

// usageHourFormat spells an hour in a usage key: UTC, sortable as text.
const usageHourFormat = "2006-01-02T15"

func usagePK(env, tokenID string) string { return "USAGE#" + env + "#" + tokenID }
func usageEnvPK(env string) string       { return "USAGE#" + env }
func usageSK(hour time.Time) string      { return "HOUR#" + hour.UTC().Format(usageHourFormat) }
func usageEnvSK(hour time.Time, tokenID string) string {
	return usageSK(hour) + "#" + tokenID
}

// usageKeys are the keys of a token's usage item of the UTC hour holding at, in the order pk, sk,
// gsi1pk, gsi1sk.
func usageKeys(env, tokenID string, at time.Time) [4]string {
	hour := at.UTC().Truncate(time.Hour)
	return [4]string{usagePK(env, tokenID), usageSK(hour), usageEnvPK(env), usageEnvSK(hour, tokenID)}
}

// AddUsage adds c to the token's usage item of the UTC hour holding at, creating it: one
// UpdateItem that adds to each count, so writers in many function instances never lose one
// another's counts. The item expires UsageRetention after its hour. Counts of zero are not
// written; nothing at all is written when c is all zeros.
func (s *Store) AddUsage(ctx context.Context, env, tokenID string, at time.Time, c UsageCounts) error {
	if c == (UsageCounts{}) {
		return nil
	}
	keys := usageKeys(env, tokenID, at)
	hour := at.UTC().Truncate(time.Hour)
	update := expression.Set(expression.Name("kind"), expression.Value(kindUsage)).
		Set(expression.Name("gsi1pk"), expression.Value(keys[2])).
		Set(expression.Name("gsi1sk"), expression.Value(keys[3])).
		Set(expression.Name("ttl"), expression.Value(hour.Add(UsageRetention).Unix()))
	for _, n := range []struct {
		name string
		v    int64
	}{{"allowed", c.Allowed}, {"rateLimited", c.RateLimited}, {"quotaExhausted", c.QuotaExhausted}, {"refused", c.Refused}} {
		if n.v != 0 {
			update = update.Add(expression.Name(n.name), expression.Value(n.v))
		}
	}
	expr, err := expression.NewBuilder().WithUpdate(update).Build()
	if err != nil {
		return fmt.Errorf("add usage of token %s: %w", tokenID, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: ItemKey(keys[0], keys[1]),
		UpdateExpression:         expr.Update(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return fmt.Errorf("add usage of token %s: %w", tokenID, err)
	}
	return nil
}
