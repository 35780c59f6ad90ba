package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/apitokens/apitokens/cmd/internal/lambdas"
)

// environmentsPath serves how many execution environments each function runs (make envs).
const environmentsPath = "/local/environments"

// Environments returns the environments of every function that runs, by name.
func (s *Server) Environments() []lambdas.Count {
	var out []lambdas.Count
	for _, p := range s.functions.running() {
		out = append(out, p.Count())
	}
	slices.SortFunc(out, func(a, b lambdas.Count) int { return strings.Compare(a.Function, b.Function) })
	return out
}

// serveEnvironments answers GET /local/environments: {"functions": [...]} as JSON, or with
// ?format=text the table make envs prints.
func (s *Server) serveEnvironments(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	counts := s.Environments()
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		printEnvironments(w, counts)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Functions []lambdas.Count `json:"functions"`
	}{Functions: counts})
}

// printEnvironments prints one line per function: environments, busy, starting, the maximum
// and where it comes from, and the cold starts so far.
func printEnvironments(w io.Writer, counts []lambdas.Count) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tENVIRONMENTS\tBUSY\tSTARTING\tMAX\tCOLD STARTS\t")
	for _, c := range counts {
		limit := fmt.Sprint(c.Max)
		if c.Reserved {
			limit += " (reserved)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t\n", c.Function, c.Environments, c.Busy, c.Starting, limit, c.ColdStarts)
	}
	tw.Flush()
}
