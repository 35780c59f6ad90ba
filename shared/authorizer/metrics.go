package authorizer

import (
	"log/slog"
	"os"
	"time"
)

// The authorizer's decisions as CloudWatch metrics, carried by its one log line per call in the
// embedded metric format: CloudWatch Logs turns the line into a data point, so counting costs no
// call of its own. template.yaml's AuthorizerFailuresAlarm watches the failed outcome.
const (
	// MetricNamespace is the CloudWatch namespace of the decision metric.
	MetricNamespace = "APITokens"
	// DecisionsMetric counts decisions, by functionName and outcome, and by those and reason.
	DecisionsMetric = "AuthorizerDecisions"
)

// Outcomes of a call, the metric's outcome dimension.
const (
	OutcomeAllowed = "allowed"
	OutcomeRefused = "refused"
	OutcomeFailed  = "failed"
)

// failedReason is the reason dimension of a failed call: a metric line must hold every
// dimension it names.
const failedReason = "error"

// emf is the _aws member of an embedded metric format line.
type emf struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []emfMetric `json:"CloudWatchMetrics"`
}

type emfMetric struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []emfMetricN `json:"Metrics"`
}

type emfMetricN struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// functionName is the metric's functionName dimension: the Lambda function's name, which the
// alarm names with !Ref, so that stacks of one account count apart.
func functionName() string {
	if n := os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); n != "" {
		return n
	}
	return "authorizer"
}

// decisionMetric returns the attributes that make a log line one count of DecisionsMetric for
// outcome. The line's own reason attribute is a dimension; a failed call's line gets reason
// "error" here.
func decisionMetric(function, outcome string, now time.Time) []slog.Attr {
	attrs := []slog.Attr{
		slog.String("functionName", function),
		slog.String("outcome", outcome),
		slog.Int(DecisionsMetric, 1),
		slog.Any("_aws", emf{
			Timestamp: now.UnixMilli(),
			CloudWatchMetrics: []emfMetric{{
				Namespace:  MetricNamespace,
				Dimensions: [][]string{{"functionName", "outcome"}, {"functionName", "outcome", "reason"}},
				Metrics:    []emfMetricN{{Name: DecisionsMetric, Unit: "Count"}},
			}},
		}),
	}
	if outcome == OutcomeFailed {
		attrs = append(attrs, slog.String("reason", failedReason))
	}
	return attrs
}
