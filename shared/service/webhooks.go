package service

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/webhooks"
)

// WebhookConfig is what the subscription routes, the event sources and the sender read.
type WebhookConfig struct {
	QueueURL          string           // EVENTS_QUEUE_URL: where events go; "" publishes none
	SubscriptionLimit int              // SUBSCRIPTION_LIMIT, default 20 per token
	Targets           webhooks.Targets // WEBHOOK_TARGETS: public (default) or loopback (the local run)
	Backoff           webhooks.Backoff // WEBHOOK_RETRY_SECONDS, default webhooks.DefaultBackoff
	Timeout           time.Duration    // WEBHOOK_TIMEOUT in seconds, default 5: one attempt's limit
}

func webhookConfigFromEnv(getenv func(string) string) (WebhookConfig, error) {
	c := WebhookConfig{QueueURL: getenv("EVENTS_QUEUE_URL")}
	var err error
	if c.SubscriptionLimit, err = positiveInt(getenv, "SUBSCRIPTION_LIMIT", 20); err != nil {
		return WebhookConfig{}, err
	}
	if c.Targets, err = webhooks.ParseTargets(getenv("WEBHOOK_TARGETS")); err != nil {
		return WebhookConfig{}, fmt.Errorf("config: %w", err)
	}
	if c.Backoff, err = webhooks.ParseBackoff(or(getenv("WEBHOOK_RETRY_SECONDS"), webhooks.DefaultBackoff)); err != nil {
		return WebhookConfig{}, fmt.Errorf("config: %w", err)
	}
	timeout, err := positiveInt(getenv, "WEBHOOK_TIMEOUT", 5)
	if err != nil || timeout == 0 {
		return WebhookConfig{}, fmt.Errorf("config: WEBHOOK_TIMEOUT must be a whole number of seconds ≥ 1")
	}
	c.Timeout = time.Duration(timeout) * time.Second
	return c, nil
}

// eventsQueue is the events queue of cfg, or nil when it names none.
func eventsQueue(cfg Config, awsCfg aws.Config) *eventqueue.Queue {
	if cfg.Webhooks.QueueURL == "" {
		return nil
	}
	return eventqueue.New(sqs.NewFromConfig(awsCfg), cfg.Webhooks.QueueURL)
}
