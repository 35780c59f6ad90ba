package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
	"github.com/apitokens/apitokens/testkit/sqsfeed"
)

// queuePrefix names the local run's queues: apitokens-local-EventsQueue and its dead-letter
// queue.
const queuePrefix = "apitokens-local-"

// feedIdle is how long the feed waits after finding the queue empty. The emulator answers one
// request at a time, so the feed polls without holding a long poll open (which would hold up
// every other call), at most ten times a second while idle.
const feedIdle = 100 * time.Millisecond

// provisionQueues creates the template's queues in the emulator. They are not stored between
// runs: what a stop leaves on them is lost, as the local run keeps only the table and the ring.
func (s *Server) provisionQueues(ctx context.Context) error {
	tmpl, err := samtemplate.Open(s.template)
	if err != nil {
		return err
	}
	cfg, err := s.emu.Config(ctx)
	if err != nil {
		return fmt.Errorf("emulator config: %w", err)
	}
	if s.queues, err = emulator.ProvisionQueues(ctx, cfg, tmpl, queuePrefix); err != nil {
		return err
	}
	s.sqs = sqs.NewFromConfig(cfg)
	fns, err := tmpl.Functions()
	if err != nil {
		return err
	}
	for _, f := range fns {
		if slices.Contains(f.Polls, samtemplate.EventsQueueResource) {
			s.sender = f.ID
		}
	}
	if s.sender == "" && s.queues[samtemplate.EventsQueueResource] != "" {
		return fmt.Errorf("template: no event source mapping reads %s", samtemplate.EventsQueueResource)
	}
	return nil
}

// feedSender feeds the events queue to the function its event source mapping names, as Lambda
// would: batches of up to ten, through the function's runtime interface emulator, the messages
// it reports failed left on the queue for their retry.
func (s *Server) feedSender(ctx context.Context) {
	if s.sender == "" {
		return // a template without an events queue
	}
	f := &sqsfeed.Feeder{
		Client: s.sqs, QueueURL: s.queues[samtemplate.EventsQueueResource],
		QueueARN: "arn:aws:sqs:" + emulator.Region + ":" + samtemplate.AccountID + ":" + queuePrefix + samtemplate.EventsQueueResource,
		Invoke: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			payload, err := json.Marshal(ev)
			if err != nil {
				return resp, err
			}
			out, err := s.functions.Invoke(ctx, s.sender, payload)
			if err != nil {
				return resp, err
			}
			return resp, json.Unmarshal(out, &resp)
		},
	}
	for ctx.Err() == nil {
		n, err := f.Once(ctx)
		if err != nil && ctx.Err() == nil {
			s.say("events queue: %v", err)
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(feedIdle):
			}
		}
	}
}
