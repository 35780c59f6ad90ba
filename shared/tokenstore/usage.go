package tokenstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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

// UsagePartitionPrefix begins the partition key of every usage item AddUsage writes.
const UsagePartitionPrefix = "USAGE#"

// RefusalUsageAttributes are the attributes AddUsage writes when it adds refusals alone, as the
// key authorizer does: the item's keys, kind and ttl, and the refused count.
func RefusalUsageAttributes() []string {
	return []string{"pk", "sk", "kind", "gsi1pk", "gsi1sk", "ttl", "refused"}
}

func usagePK(env, tokenID string) string { return UsagePartitionPrefix + env + "#" + tokenID }
func usageEnvPK(env string) string       { return UsagePartitionPrefix + env }
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

// UsageHour is a token's calls in one UTC hour.
type UsageHour struct {
	// Hour is the hour's start, in UTC.
	Hour time.Time
	UsageCounts
}

// usageItem is a usage item as read back; a count never added is absent and reads as 0.
type usageItem struct {
	SK             string `dynamodbav:"sk"`
	GSI1SK         string `dynamodbav:"gsi1sk"`
	Allowed        int64  `dynamodbav:"allowed"`
	RateLimited    int64  `dynamodbav:"rateLimited"`
	QuotaExhausted int64  `dynamodbav:"quotaExhausted"`
	Refused        int64  `dynamodbav:"refused"`
}

func (it usageItem) counts() UsageCounts {
	return UsageCounts{Allowed: it.Allowed, RateLimited: it.RateLimited, QuotaExhausted: it.QuotaExhausted, Refused: it.Refused}
}

// parseUsageHour reads the hour out of a usage sort key, HOUR#<hour> with anything after a
// further "#".
func parseUsageHour(sk string) (time.Time, error) {
	rest, ok := strings.CutPrefix(sk, "HOUR#")
	if !ok {
		return time.Time{}, fmt.Errorf("usage key %q: no hour", sk)
	}
	hour, _, _ := strings.Cut(rest, "#")
	return time.Parse(usageHourFormat, hour)
}

// Usage returns a token's usage items of the UTC hours from the hour holding from to the hour
// holding to, both included, oldest first; hours without calls have no item and are left out.
// One Query on the token's partition, read on page after page (a month of hours is some 100 KB).
func (s *Store) Usage(ctx context.Context, env, tokenID string, from, to time.Time) ([]UsageHour, error) {
	keyCond := expression.Key("pk").Equal(expression.Value(usagePK(env, tokenID))).
		And(expression.Key("sk").Between(expression.Value(usageSK(from.Truncate(time.Hour))), expression.Value(usageSK(to.Truncate(time.Hour)))))
	var out []UsageHour
	err := s.queryUsage(ctx, "", keyCond, func(it usageItem) error {
		hour, err := parseUsageHour(it.SK)
		if err != nil {
			return err
		}
		out = append(out, UsageHour{Hour: hour, UsageCounts: it.counts()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("usage of token %s: %w", tokenID, err)
	}
	return out, nil
}

// EnvironmentUsage returns what each token of an environment was called in the UTC hours from
// the hour holding from to the hour holding to, both included, summed by token id; tokens
// without calls are left out. One Query on gsi1, whatever the number of tokens, read on page
// after page (a day of an environment is an item per token and hour that saw calls). The index
// is eventually consistent, like every read of a GSI: a count may show a second late.
func (s *Store) EnvironmentUsage(ctx context.Context, env string, from, to time.Time) (map[string]UsageCounts, error) {
	// "~" sorts after "#" and every character of a token id, so the last hour's items, which go
	// on with "#<token id>", fall inside the range.
	keyCond := expression.Key("gsi1pk").Equal(expression.Value(usageEnvPK(env))).
		And(expression.Key("gsi1sk").Between(expression.Value(usageSK(from.Truncate(time.Hour))), expression.Value(usageSK(to.Truncate(time.Hour))+"~")))
	out := map[string]UsageCounts{}
	err := s.queryUsage(ctx, "gsi1", keyCond, func(it usageItem) error {
		_, tokenID, ok := strings.Cut(strings.TrimPrefix(it.GSI1SK, "HOUR#"), "#")
		if !ok {
			return fmt.Errorf("usage index key %q: no token id", it.GSI1SK)
		}
		c := out[tokenID]
		c.Add(it.counts())
		out[tokenID] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("usage of environment %s: %w", env, err)
	}
	return out, nil
}

// queryUsage runs one Query of usage items with keyCond, on index ("" for the table), page after
// page, handing each item to each.
func (s *Store) queryUsage(ctx context.Context, index string, keyCond expression.KeyConditionBuilder, each func(usageItem) error) error {
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).Build()
	if err != nil {
		return err
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	if index != "" {
		in.IndexName = aws.String(index)
	}
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return err
		}
		var items []usageItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return err
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
