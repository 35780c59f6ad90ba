package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// ProvisionQueues creates the template's queues, each named prefix and its logical id, with
// the template's visibility timeout, retention and redrive policy, and returns their URLs by
// logical id. A queue that exists already with the same attributes is kept (SQS's CreateQueue
// answers its URL).
func ProvisionQueues(ctx context.Context, cfg aws.Config, tmpl *samtemplate.Template, prefix string) (map[string]string, error) {
	queues, err := tmpl.Queues()
	if err != nil {
		return nil, err
	}
	client := sqs.NewFromConfig(cfg)
	urls, arns := map[string]string{}, map[string]string{}
	for _, q := range queues {
		attrs := map[string]string{
			"VisibilityTimeout":      strconv.Itoa(q.VisibilityTimeout),
			"MessageRetentionPeriod": strconv.Itoa(q.RetentionPeriod),
		}
		if q.DeadLetterQueue != "" {
			policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": arns[q.DeadLetterQueue], "maxReceiveCount": q.MaxReceiveCount})
			attrs["RedrivePolicy"] = string(policy)
		}
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + q.LogicalID), Attributes: attrs})
		if err != nil {
			return nil, fmt.Errorf("create queue %s: %w", q.LogicalID, err)
		}
		urls[q.LogicalID] = aws.ToString(out.QueueUrl)
		got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q.LogicalID, err)
		}
		arns[q.LogicalID] = got.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	return urls, nil
}
