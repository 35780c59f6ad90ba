package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ownerLeftFunction is the template's function that suspends the tokens of a user who left the
// identity provider.
const ownerLeftFunction = "OwnerLeftFunction"

// disableUser is the development identity provider's "disable a user": it hands the function the
// same event EventBridge hands it in AWS when Cognito's AdminDisableUser is called, and answers
// what the function did.
func (s *Server) disableUser(ctx context.Context, user string) (string, error) {
	detail, err := json.Marshal(map[string]any{
		"eventSource": "cognito-idp.amazonaws.com", "eventName": "AdminDisableUser",
		"requestParameters": map[string]string{"userPoolId": "local", "username": user},
	})
	if err != nil {
		return "", err
	}
	event, err := json.Marshal(map[string]any{
		"version": "0", "id": fmt.Sprintf("local-%d", time.Now().UnixNano()),
		"detail-type": "AWS API Call via CloudTrail", "source": "aws.cognito-idp",
		"account": "123456789012", "time": time.Now().UTC().Format(time.RFC3339), "region": "us-east-1",
		"resources": []string{}, "detail": json.RawMessage(detail),
	})
	if err != nil {
		return "", err
	}
	out, err := s.functions.Invoke(ctx, ownerLeftFunction, event)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ownerLeftFunction, err)
	}
	return string(out), nil
}
