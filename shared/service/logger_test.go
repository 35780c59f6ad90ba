package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/service"
)

// lambdaLevels are the level names Lambda's log-level filtering knows, lowest first (Lambda
// developer guide, "Log-level filtering": TRACE, DEBUG, INFO, WARN, ERROR, FATAL).
var lambdaLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// lambdaLevel is the level Lambda gives a JSON line, as that page describes it: the "level"
// field when it is one of lambdaLevels (in any case) and the line has a timestamp in RFC 3339,
// INFO otherwise.
func lambdaLevel(t *testing.T, line map[string]any) string {
	t.Helper()
	level, _ := line["level"].(string)
	ts, _ := line["timestamp"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !slices.Contains(lambdaLevels, strings.ToUpper(level)) {
		return "INFO"
	}
	return strings.ToUpper(level)
}

// TestLoggerLineShape checks every line against what Lambda's log-level filtering reads, and
// that with the function's log level at WARN the ERROR lines, their embedded metric with them,
// are the ones kept.
func TestLoggerLineShape(t *testing.T) {
	t.Setenv("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
	var buf bytes.Buffer
	log := service.Logger(&buf)
	ctx := context.Background()
	log.Debug("debug")
	log.Info("info")
	log.Log(ctx, slog.LevelInfo+2, "between info and warn")
	log.Warn("warn")
	log.Error("authorize", "err", "table unreachable", "_aws", map[string]any{"Timestamp": 1})
	log.Log(ctx, slog.LevelError+4, "above error")

	want := []struct{ msg, level string }{
		{"debug", "DEBUG"}, {"info", "INFO"}, {"between info and warn", "INFO"},
		{"warn", "WARN"}, {"authorize", "ERROR"}, {"above error", "ERROR"},
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d: %s", len(lines), len(want), buf.String())
	}
	keptAtWarn := 0
	for i, raw := range lines {
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i+1, err, raw)
		}
		if line["msg"] != want[i].msg || line["level"] != want[i].level {
			t.Errorf("line %d: got msg %v level %v, want %s %s", i+1, line["msg"], line["level"], want[i].msg, want[i].level)
		}
		ts, _ := line["timestamp"].(string)
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || time.Since(at).Abs() > time.Minute || !strings.HasSuffix(ts, "Z") {
			t.Errorf("line %d: timestamp got %q (%v), want the time of the line in RFC 3339, UTC", i+1, ts, err)
		}
		if _, ok := line["time"]; ok {
			t.Errorf("line %d has slog's time field beside timestamp: %s", i+1, raw)
		}
		if got := lambdaLevel(t, line); got != want[i].level {
			t.Errorf("line %d: Lambda reads level %s, want %s", i+1, got, want[i].level)
		}
		if slices.Index(lambdaLevels, lambdaLevel(t, line)) >= slices.Index(lambdaLevels, "WARN") {
			keptAtWarn++
			if line["msg"] == "authorize" && line["_aws"] == nil {
				t.Errorf("line %d: the ERROR line lost its embedded metric: %s", i+1, raw)
			}
		}
	}
	if keptAtWarn != 3 {
		t.Errorf("Lambda at WARN keeps %d lines, want 3 (warn and the two errors)", keptAtWarn)
	}
}

// TestLoggerLevelFromLambda checks that the logger writes from the level Lambda hands the function.
func TestLoggerLevelFromLambda(t *testing.T) {
	for env, want := range map[string][]string{
		"":      {"INFO", "WARN", "ERROR"},
		"TRACE": {"DEBUG", "INFO", "WARN", "ERROR"},
		"DEBUG": {"DEBUG", "INFO", "WARN", "ERROR"},
		"INFO":  {"INFO", "WARN", "ERROR"},
		"WARN":  {"WARN", "ERROR"},
		"ERROR": {"ERROR"},
		"FATAL": {"ERROR"},
	} {
		t.Run("level "+env, func(t *testing.T) {
			t.Setenv("AWS_LAMBDA_LOG_LEVEL", env)
			var buf bytes.Buffer
			log := service.Logger(&buf)
			log.Debug("m")
			log.Info("m")
			log.Warn("m")
			log.Error("m")
			var got []string
			for _, raw := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var line struct{ Level string }
				if raw != "" && json.Unmarshal([]byte(raw), &line) == nil {
					got = append(got, line.Level)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("got levels %v, want %v", got, want)
			}
		})
	}
}
