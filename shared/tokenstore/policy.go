package tokenstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apitokens/apitokens/shared/policy"
)

type policyItem struct {
	PK                  string            `dynamodbav:"pk"`
	SK                  string            `dynamodbav:"sk"`
	Kind                string            `dynamodbav:"kind"`
	MaxLifetimeDays     *int              `dynamodbav:"maxLifetimeDays,omitempty"`
	AgentFullAccess     bool              `dynamodbav:"agentFullAccess"`
	AgentPermissions    []string          `dynamodbav:"agentPermissions"`
	RequireAllowedCIDRs bool              `dynamodbav:"requireAllowedCidrs"`
	DefaultRateLimit    *policy.RateLimit `dynamodbav:"defaultRateLimit,omitempty"`
	MaxRateLimit        *policy.RateLimit `dynamodbav:"maxRateLimit,omitempty"`
	UpdatedAt           string            `dynamodbav:"updatedAt"`
	UpdatedBy           string            `dynamodbav:"updatedBy"`
}

// Policy reads an environment's token policy with one strongly consistent GetItem; an
// environment whose administrators set none has policy.Default.
func (s *Store) Policy(ctx context.Context, env string) (policy.Policy, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: ItemKey(envPK(env), policySK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return policy.Policy{}, fmt.Errorf("read policy of %s: %w", env, err)
	}
	if out.Item == nil {
		return policy.Default(), nil
	}
	var it policyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return policy.Policy{}, fmt.Errorf("read policy of %s: %w", env, err)
	}
	p := policy.Policy{
		MaxLifetimeDays: it.MaxLifetimeDays, AgentFullAccess: it.AgentFullAccess,
		AgentPermissions: it.AgentPermissions, RequireAllowedCIDRs: it.RequireAllowedCIDRs,
		DefaultRateLimit: it.DefaultRateLimit, MaxRateLimit: it.MaxRateLimit,
	}
	if p.AgentPermissions == nil {
		p.AgentPermissions = []string{}
	}
	return p, nil
}

// PutPolicy stores an environment's token policy (checked by policy.Check), replacing the one
// it had, with who set it and when.
func (s *Store) PutPolicy(ctx context.Context, env string, p policy.Policy, by Actor) error {
	item, err := attributevalue.MarshalMap(newPolicyItem(env, p, s.now(), by))
	if err == nil {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	}
	if err != nil {
		return fmt.Errorf("store policy of %s: %w", env, err)
	}
	return nil
}

// newPolicyItem is the item of env's policy p, set at now by by.
func newPolicyItem(env string, p policy.Policy, now time.Time, by Actor) policyItem {
	return policyItem{
		PK: envPK(env), SK: policySK, Kind: kindPolicy,
		MaxLifetimeDays: p.MaxLifetimeDays, AgentFullAccess: p.AgentFullAccess,
		AgentPermissions: p.AgentPermissions, RequireAllowedCIDRs: p.RequireAllowedCIDRs,
		DefaultRateLimit: p.DefaultRateLimit, MaxRateLimit: p.MaxRateLimit,
		UpdatedAt: formatTime(now), UpdatedBy: by.UserID,
	}
}
