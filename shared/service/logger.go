package service

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// The fields of a log line that Lambda's log-level filtering reads (Lambda developer guide,
// "Log-level filtering"): "level", one of Lambda's level names, and "timestamp", an RFC 3339
// time. A line without a level it knows, or without a timestamp it can parse, is taken as INFO,
// so with the function's ApplicationLogLevel at WARN or ERROR an ERROR line written with slog's
// own "time" field would be dropped, and the embedded metric it carries with it.
const (
	LevelKey     = "level"
	TimestampKey = "timestamp"
)

// TimestampFormat is RFC 3339 in UTC with milliseconds, as Lambda's own JSON lines have it.
const TimestampFormat = "2006-01-02T15:04:05.000Z07:00"

// Logger returns the JSON logger every function writes with, at the level Lambda's
// ApplicationLogLevel sets (AWS_LAMBDA_LOG_LEVEL), INFO by default. Its lines carry LevelKey and
// TimestampKey in the shape Lambda's log-level filtering reads.
func Logger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToUpper(os.Getenv("AWS_LAMBDA_LOG_LEVEL")) {
	case "DEBUG", "TRACE":
		level = slog.LevelDebug
	case "WARN":
		level = slog.LevelWarn
	case "ERROR", "FATAL":
		level = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lambdaFields}))
}

// lambdaFields writes slog's time as TimestampKey and its level under one of Lambda's names.
func lambdaFields(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if t, ok := a.Value.Any().(time.Time); ok {
			return slog.String(TimestampKey, t.UTC().Format(TimestampFormat))
		}
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(LevelKey, LambdaLevel(l))
		}
	}
	return a
}

// LambdaLevel names l with the level of Lambda's (TRACE, DEBUG, INFO, WARN, ERROR) at or below
// it, where slog would write a level between two of its own as "INFO+2".
func LambdaLevel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "TRACE"
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARN"
	default:
		return "ERROR"
	}
}
