package docexamples

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// Names are what an example that needs AWS may name: the template's parameters and outputs, and
// the Makefile's targets.
type Names struct {
	Parameters, Outputs, Targets map[string]bool
}

// ProjectNames reads the names of root's template.yaml, Makefile and make/*.mk.
func ProjectNames(root string) (Names, error) {
	tmpl, err := samtemplate.Open(filepath.Join(root, "template.yaml"))
	if err != nil {
		return Names{}, err
	}
	n := Names{Parameters: map[string]bool{}, Outputs: map[string]bool{}, Targets: map[string]bool{}}
	for p := range tmpl.Parameters {
		n.Parameters[p] = true
	}
	for o := range tmpl.Outputs {
		n.Outputs[o] = true
	}
	makefiles, err := filepath.Glob(filepath.Join(root, "make", "*.mk"))
	if err != nil {
		return Names{}, err
	}
	for _, f := range append([]string{filepath.Join(root, "Makefile")}, makefiles...) {
		src, err := os.ReadFile(f)
		if err != nil {
			return Names{}, err
		}
		for _, m := range ruleLine.FindAllStringSubmatch(string(src), -1) {
			for _, t := range strings.Fields(m[1]) {
				n.Targets[t] = true
			}
		}
	}
	return n, nil
}

var (
	// ruleLine is a Makefile rule's targets (not a variable's := or ?= assignment).
	ruleLine = regexp.MustCompile(`(?m)^([A-Za-z0-9_.-][A-Za-z0-9_. -]*):(?:[^=]|$)`)
	// makeCall is a make command line's arguments: targets, VAR=value and flags.
	makeCall = regexp.MustCompile(`(?m)(?:^|[;&|(]|\$\()\s*make\s+([^;&|)\n#]*)`)
	paramKey = regexp.MustCompile(`ParameterKey=([A-Za-z0-9]+)`)
	override = regexp.MustCompile(`--parameter-overrides((?:\s+['"]?[A-Za-z0-9]+=\S*)+)`)
	output   = regexp.MustCompile("OutputKey\\s*==\\s*['\"`]?([A-Za-z0-9]+)")
	// awsCommand is a command that talks to AWS: the AWS CLI or the SAM CLI, by any path.
	awsCommand = regexp.MustCompile(`(?m)(?:^|[;&|(]|\$\()\s*(?:\S*/)?(?:aws|sam)\s`)
	varUse     = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	varSet     = regexp.MustCompile(`(?m)(?:^|[;&|(\s])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=`)
)

// LocalVariables are the variables the local run gives every example.
var LocalVariables = []string{"API", "ADMIN", "AGENT", "KEY"}

// CheckAWS checks an example marked <!-- aws --> against the project's names: every make
// target, template parameter and stack output it names exists, and it may need AWS (it runs the
// AWS or SAM CLI or a make target, or uses a variable that neither it nor the local run sets). Each problem
// names the example's file and line.
func CheckAWS(ex Example, n Names) []string {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, ex.Where()+": "+fmt.Sprintf(format, args...))
	}
	for _, m := range makeCall.FindAllStringSubmatch(ex.Script, -1) {
		for _, arg := range strings.Fields(m[1]) {
			if !strings.HasPrefix(arg, "-") && !strings.Contains(arg, "=") && !n.Targets[arg] {
				bad("make %s: no such target in the Makefile", arg)
			}
		}
	}
	for _, m := range paramKey.FindAllStringSubmatch(ex.Script, -1) {
		if !n.Parameters[m[1]] {
			bad("parameter %s: template.yaml has no such parameter", m[1])
		}
	}
	for _, m := range override.FindAllStringSubmatch(ex.Script, -1) {
		for _, pair := range strings.Fields(m[1]) {
			name, _, _ := strings.Cut(strings.Trim(pair, `'"`), "=")
			if !n.Parameters[name] {
				bad("parameter %s: template.yaml has no such parameter", name)
			}
		}
	}
	for _, m := range output.FindAllStringSubmatch(ex.Script, -1) {
		if !n.Outputs[m[1]] {
			bad("output %s: template.yaml has no such output", m[1])
		}
	}
	if !awsCommand.MatchString(ex.Script) && !makeCall.MatchString(ex.Script) && len(foreignVariables(ex.Script)) == 0 {
		bad("marked <!-- aws --> but runs no aws or sam command and uses only variables the local run sets: mark it <!-- expect: … --> so that it runs")
	}
	return problems
}

// foreignVariables are the variables a script uses that neither it nor the local run sets.
func foreignVariables(script string) []string {
	set := map[string]bool{}
	for _, v := range LocalVariables {
		set[v] = true
	}
	for _, m := range varSet.FindAllStringSubmatch(script, -1) {
		set[m[1]] = true
	}
	var out []string
	for _, m := range varUse.FindAllStringSubmatch(script, -1) {
		if !set[m[1]] && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}
