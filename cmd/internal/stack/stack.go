package stack

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// DescribeStacksAPI is the part of the CloudFormation client that Output uses.
type DescribeStacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// ErrNoOutput reports a stack without the output asked for.
var ErrNoOutput = errors.New("stack has no such output")

// Output returns the value of the output named key of the stack named name.
func Output(ctx context.Context, client DescribeStacksAPI, name, key string) (string, error) {
	out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) != 1 {
		return "", fmt.Errorf("describe stack %s: got %d stacks, want 1", name, len(out.Stacks))
	}
	for _, o := range out.Stacks[0].Outputs {
		if aws.ToString(o.OutputKey) == key {
			return aws.ToString(o.OutputValue), nil
		}
	}
	return "", fmt.Errorf("stack %s, output %s: %w", name, key, ErrNoOutput)
}
