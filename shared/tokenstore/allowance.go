package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Counter names one allowance of a token that function instances claim blocks of: a fixed
// window of its rate limit, or a calendar month (UTC) of its quota.
type Counter struct {
	EnvironmentID string
	TokenID       string
	sk            string
	expires       time.Time
}

// WindowCounter is the counter of the rate-limit window of windowSeconds that starts at start
// (a multiple of windowSeconds since the Unix epoch). The window length is part of its key, so
// a changed limit never counts into a window of another length. It expires an hour after the
// window ends.
func WindowCounter(env, tokenID string, windowSeconds int, start time.Time) Counter {
	end := start.Add(time.Duration(windowSeconds) * time.Second)
	return Counter{EnvironmentID: env, TokenID: tokenID, sk: windowSK(windowSeconds, start), expires: end.Add(time.Hour)}
}

// MonthCounter is the counter of the quota's calendar month (UTC) that holds at. It expires 35
// days after the month ends.
func MonthCounter(env, tokenID string, at time.Time) Counter {
	month := time.Date(at.UTC().Year(), at.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	return Counter{EnvironmentID: env, TokenID: tokenID, sk: monthSK(month), expires: month.AddDate(0, 1, 35)}
}

// ErrClaimLimit refuses a claim that asks for nothing or for more than the limit.
var ErrClaimLimit = errors.New("a claim asks for 1 to limit")

// Claim takes up to want of counter c's allowance of limit with one conditional UpdateItem: it
// adds want to what the instances have claimed so far, on condition that less than limit was
// claimed, and returns what this claim got (want, or what remained when less did; 0 when the
// allowance was spent) and the total claimed after it. The stored total may pass limit by what
// the last claim asked beyond what remained; that part was never granted. Grants never add up
// to more than limit, whatever the number of claimers.
func (s *Store) Claim(ctx context.Context, c Counter, limit, want int64) (granted, claimed int64, err error) {
	if want < 1 || want > limit {
		return 0, 0, fmt.Errorf("claim %d of %d: %w", want, limit, ErrClaimLimit)
	}
	n := expression.Name("claimed")
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Add(n, expression.Value(want)).
			Set(expression.Name("kind"), expression.Value(c.kind())).
			Set(expression.Name("ttl"), expression.Value(c.expires.Unix()))).
		WithCondition(expression.Or(expression.AttributeNotExists(n), n.LessThan(expression.Value(limit)))).
		Build()
	if err != nil {
		return 0, 0, fmt.Errorf("claim allowance of token %s: %w", c.TokenID, err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: ItemKey(meterPK(c.EnvironmentID, c.TokenID), c.sk),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return 0, limit, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("claim allowance of token %s: %w", c.TokenID, err)
	}
	var after struct {
		Claimed int64 `dynamodbav:"claimed"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &after); err != nil {
		return 0, 0, fmt.Errorf("claim allowance of token %s: %w", c.TokenID, err)
	}
	return min(want, limit-(after.Claimed-want)), after.Claimed, nil
}

func (c Counter) kind() string {
	if c.sk[0] == 'M' {
		return kindMeterMonth
	}
	return kindMeterWindow
}

func meterPK(env, tokenID string) string { return "METER#" + env + "#" + tokenID }
func windowSK(windowSeconds int, start time.Time) string {
	return "WINDOW#" + strconv.Itoa(windowSeconds) + "#" + formatTime(start)
}
func monthSK(month time.Time) string { return "MONTH#" + month.UTC().Format("2006-01") }

// Release gives back n of counter c's allowance that an instance claimed and will not spend (it
// is shutting down): one UpdateItem that takes n off what was claimed. Releasing more than the
// instance holds would let others claim past the limit; the meter releases only what it holds.
func (s *Store) Release(ctx context.Context, c Counter, n int64) error {
	if n < 1 {
		return nil
	}
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Add(expression.Name("claimed"), expression.Value(-n))).
		WithCondition(expression.AttributeExists(expression.Name("claimed"))).
		Build()
	if err != nil {
		return fmt.Errorf("release allowance of token %s: %w", c.TokenID, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: ItemKey(meterPK(c.EnvironmentID, c.TokenID), c.sk),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) { // gone: its TTL removed it, nothing to give back
		return fmt.Errorf("release allowance of token %s: %w", c.TokenID, err)
	}
	return nil
}
