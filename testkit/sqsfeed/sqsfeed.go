// Package sqsfeed feeds an SQS queue to a function as Lambda's event source mapping does: it
// receives a batch, hands it over as an events.SQSEvent, and deletes the messages the function
// did not report in batchItemFailures (ReportBatchItemFailures). A failed invocation, or an
// answer naming a message that was not in the batch, leaves the whole batch on the queue, to be
// received again once hidden for the queue's visibility timeout (or the delay the function set).
package sqsfeed

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Invoke runs the function on one batch.
type Invoke func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Feeder feeds one queue to one function.
type Feeder struct {
	Client   *sqs.Client
	QueueURL string
	QueueARN string
	Invoke   Invoke
	// Wait is how long one receive waits for a message (a long poll); 0 returns at once.
	Wait time.Duration
}

// Once receives at most ten messages, hands them to the function, and deletes those it
// handled. It returns how many messages it handed over.
func (f *Feeder) Once(ctx context.Context) (int, error) {
	out, err := f.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &f.QueueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: int32(f.Wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil || len(out.Messages) == 0 {
		return 0, err
	}
	ev := events.SQSEvent{}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Attributes: m.Attributes, MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSource: "aws:sqs", EventSourceARN: f.QueueARN, AWSRegion: "us-east-1",
		})
	}
	resp, err := f.Invoke(ctx, ev)
	if err != nil {
		return len(ev.Records), fmt.Errorf("invoke: %w", err)
	}
	failed := map[string]bool{}
	for _, fl := range resp.BatchItemFailures {
		failed[fl.ItemIdentifier] = true
	}
	var done []types.DeleteMessageBatchRequestEntry
	for _, r := range ev.Records {
		if !failed[r.MessageId] {
			done = append(done, types.DeleteMessageBatchRequestEntry{Id: aws.String(r.MessageId), ReceiptHandle: aws.String(r.ReceiptHandle)})
		}
	}
	if len(done)+len(failed) != len(ev.Records) {
		return len(ev.Records), fmt.Errorf("the function reported failures of messages it was not given")
	}
	if len(done) > 0 {
		if _, err := f.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &f.QueueURL, Entries: done}); err != nil {
			return len(ev.Records), fmt.Errorf("delete handled messages: %w", err)
		}
	}
	return len(ev.Records), nil
}

// Drain calls Once until the queue has been empty twice in a row, and returns how many
// messages it handed over in all.
func (f *Feeder) Drain(ctx context.Context) (int, error) {
	total, empty := 0, 0
	for empty < 2 {
		n, err := f.Once(ctx)
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			empty++
			time.Sleep(20 * time.Millisecond)
		} else {
			empty = 0
		}
	}
	return total, nil
}
