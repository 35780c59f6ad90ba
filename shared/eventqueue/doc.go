// Package eventqueue carries the service's events to the webhook sender through one SQS queue:
// an event as it happened (a delivery received, a key leaked, expiring, deactivated or
// deleted), and, once the sender has found who subscribed to it, one message per subscription
// to post it to.
package eventqueue
