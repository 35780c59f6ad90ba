package authorizer_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// TestDecisionMetrics reads each call's one log line as CloudWatch would read an embedded metric
// format line: a count of AuthorizerDecisions in the APITokens namespace, with every dimension
// it names present in the line, and the outcome and reason of the call.
func TestDecisionMetrics(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "apitokens-AuthorizerFunction-1")
	f := newFixture(t)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	unknown, _ := f.format.Generate()

	tests := []struct {
		name, header, outcome, reason string
		fail                          bool
	}{
		{"allowed", "Bearer " + key, authorizer.OutcomeAllowed, "allowed", false},
		{"malformed", "Bearer cbk_nope", authorizer.OutcomeRefused, "malformed", false},
		{"unknown", "Bearer " + unknown, authorizer.OutcomeRefused, "unknown", false},
		{"no key", "Basic x", authorizer.OutcomeRefused, "no_key", false},
		{"failed", "Bearer " + key, authorizer.OutcomeFailed, "error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fail {
				dead := tokenstore.New(dynamodb.NewFromConfig(f.env.Config, func(o *dynamodb.Options) {
					o.BaseEndpoint, o.RetryMaxAttempts = aws.String("http://127.0.0.1:1"), 1
				}), f.env.TableName, f.clock)
				f.auth = authorizer.New(f.format, f.keys, dead, memoryTTL, f.clock)
				f.advance(2 * memoryTTL) // past the memory cache of the allowed call
			}
			f.logs.Reset()
			if _, err := f.call(tt.header); (err != nil) != tt.fail {
				t.Fatalf("call err = %v, want failure %v", err, tt.fail)
			}
			line := oneLine(t, f.logs.Bytes())
			checkEMF(t, line)
			if line["outcome"] != tt.outcome || line["reason"] != tt.reason {
				t.Errorf("outcome, reason got %v, %v, want %s, %s", line["outcome"], line["reason"], tt.outcome, tt.reason)
			}
			if line["functionName"] != "apitokens-AuthorizerFunction-1" {
				t.Errorf("functionName got %v, want the Lambda function's name", line["functionName"])
			}
		})
	}
}

func oneLine(t *testing.T, logs []byte) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(logs))
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 {
		t.Fatalf("log lines got %d, want 1 per call", len(lines))
	}
	return lines[0]
}

// checkEMF checks the line against the embedded metric format's rules: _aws with a millisecond
// Timestamp and one directive whose dimensions and metrics are members of the line, dimension
// values strings and the metric a number.
func checkEMF(t *testing.T, line map[string]any) {
	t.Helper()
	var doc struct {
		AWS *struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	raw, _ := json.Marshal(line)
	if err := json.Unmarshal(raw, &doc); err != nil || doc.AWS == nil {
		t.Fatalf("no _aws member: %v", err)
	}
	if doc.AWS.Timestamp < 1_000_000_000_000 {
		t.Errorf("Timestamp got %d, want milliseconds since 1970", doc.AWS.Timestamp)
	}
	if len(doc.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("directives got %d, want 1", len(doc.AWS.CloudWatchMetrics))
	}
	d := doc.AWS.CloudWatchMetrics[0]
	if d.Namespace != authorizer.MetricNamespace {
		t.Errorf("Namespace got %q, want %q", d.Namespace, authorizer.MetricNamespace)
	}
	if len(d.Dimensions) == 0 {
		t.Error("no dimension sets")
	}
	for _, set := range d.Dimensions {
		for _, name := range set {
			if v, ok := line[name].(string); !ok || v == "" {
				t.Errorf("dimension %s got %v, want a string member of the line", name, line[name])
			}
		}
	}
	if len(d.Metrics) != 1 || d.Metrics[0].Name != authorizer.DecisionsMetric || d.Metrics[0].Unit != "Count" {
		t.Errorf("Metrics got %+v, want one %s in Count", d.Metrics, authorizer.DecisionsMetric)
	}
	if v, ok := line[authorizer.DecisionsMetric].(float64); !ok || v != 1 {
		t.Errorf("%s got %v, want 1", authorizer.DecisionsMetric, line[authorizer.DecisionsMetric])
	}
	if strings.Contains(strings.ToLower(string(raw)), "bearer") {
		t.Error("the line holds the Authorization header")
	}
}
