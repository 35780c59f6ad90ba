package samtemplate

import (
	"fmt"
	"strconv"
	"strings"
)

// scalar renders a resolved scalar as CloudFormation would pass it on: numbers without a
// fraction as integers.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = scalar(p)
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(v)
	}
}

// stringList returns a resolved list, or a comma-separated string, as strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return splitList(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, p := range v {
			out = append(out, scalar(p))
		}
		return out
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
