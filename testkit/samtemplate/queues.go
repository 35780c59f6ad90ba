package samtemplate

import (
	"fmt"
	"strconv"
	"strings"
)

// Queue is an AWS::SQS::Queue of the template, as the emulator creates it.
type Queue struct {
	LogicalID         string
	VisibilityTimeout int // seconds; SQS's default 30 when the template sets none
	RetentionPeriod   int // seconds; SQS's default 4 days when the template sets none
	// DeadLetterQueue is the logical id of the queue RedrivePolicy names, with MaxReceiveCount;
	// "" when there is none.
	DeadLetterQueue string
	MaxReceiveCount int
}

// Queues returns the template's SQS queues (of those the code knows, the ones it has), dead-letter queues first, so that a queue's
// dead-letter queue exists before it is created.
func (t *Template) Queues() ([]Queue, error) {
	var dlqs, others []Queue
	resources := obj(t.raw["Resources"])
	for _, id := range []string{EventsDeadLetterQueueResource, EventsQueueResource} {
		r := obj(resources[id])
		if r == nil {
			continue // a template without events (the local run's test fixture)
		}
		if r["Type"] != "AWS::SQS::Queue" {
			return nil, fmt.Errorf("template: %s is not an AWS::SQS::Queue", id)
		}
		props := obj(r["Properties"])
		q := Queue{LogicalID: id, VisibilityTimeout: 30, RetentionPeriod: 345600}
		var err error
		if v, ok := props["VisibilityTimeout"]; ok {
			if q.VisibilityTimeout, err = strconv.Atoi(scalar(v)); err != nil {
				return nil, fmt.Errorf("template: %s VisibilityTimeout: %w", id, err)
			}
		}
		if v, ok := props["MessageRetentionPeriod"]; ok {
			if q.RetentionPeriod, err = strconv.Atoi(scalar(v)); err != nil {
				return nil, fmt.Errorf("template: %s MessageRetentionPeriod: %w", id, err)
			}
		}
		if rp := obj(props["RedrivePolicy"]); rp != nil {
			q.DeadLetterQueue = strings.TrimSuffix(getAtt(obj(rp["deadLetterTargetArn"])["Fn::GetAtt"]), ".Arn")
			if q.MaxReceiveCount, err = strconv.Atoi(scalar(rp["maxReceiveCount"])); err != nil {
				return nil, fmt.Errorf("template: %s maxReceiveCount: %w", id, err)
			}
			others = append(others, q)
			continue
		}
		dlqs = append(dlqs, q)
	}
	return append(dlqs, others...), nil
}
