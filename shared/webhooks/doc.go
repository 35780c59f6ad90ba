// Package webhooks sends the service's own events to subscribers as Standard Webhooks
// (https://www.standardwebhooks.com): signing secrets and signatures, the rules a subscription's
// target URL must follow, the guard that refuses private and internal addresses at send time,
// and the retry schedule.
package webhooks
