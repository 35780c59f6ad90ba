package samtemplate

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

// Function is one AWS::Serverless::Function with Globals.Function merged in.
type Function struct {
	LogicalID string
	// CodeDir is the absolute folder CodeUri names.
	CodeDir    string
	Runtime    string
	Handler    string
	Timeout    time.Duration
	MemorySize int
	// LogFormat, ApplicationLogLevel and SystemLogLevel come from LoggingConfig.
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	// Environment holds Environment.Variables.
	Environment map[string]string
	// ReservedConcurrency is ReservedConcurrentExecutions, nil when the template sets none.
	ReservedConcurrency *int
}

// addFunctions adds every function with Globals.Function merged in; code folders are relative
// to dir.
func (app *App) addFunctions(fns map[string]*serverless.Function, doc resolvedDoc, dir string) error {
	globals, err := doc.tmpl.GetServerlessGlobalFunction()
	if err != nil {
		globals = &global.Function{}
	}
	for _, id := range slices.Sorted(maps.Keys(fns)) {
		f, err := merge(id, fns[id], globals, doc.logging, dir)
		if err != nil {
			return err
		}
		app.Functions[id] = f
	}
	return nil
}

// merge applies Globals.Function to a function the way SAM does: the function's own value wins,
// and maps (Environment.Variables, LoggingConfig) are merged key by key.
func merge(id string, f *serverless.Function, g *global.Function, logging loggingDoc, dir string) (*Function, error) {
	out := &Function{LogicalID: id, Environment: map[string]string{}, MemorySize: 128, Timeout: 3 * time.Second}
	code := ""
	if g.CodeUri != nil && g.CodeUri.String != nil {
		code = *g.CodeUri.String
	}
	if f.CodeUri != nil && f.CodeUri.String != nil {
		code = *f.CodeUri.String
	}
	if code == "" {
		return nil, fmt.Errorf("function %s: CodeUri must name a local folder", id)
	}
	out.CodeDir = filepath.Join(dir, code)

	out.Runtime = first(f.Runtime, g.Runtime)
	out.Handler = first(f.Handler, g.Handler)
	if v := firstInt(f.Timeout, g.Timeout); v > 0 {
		out.Timeout = time.Duration(v) * time.Second
	}
	if v := firstInt(f.MemorySize, g.MemorySize); v > 0 {
		out.MemorySize = v
	}
	if f.ReservedConcurrentExecutions != nil || g.ReservedConcurrentExecutions != nil {
		n := firstInt(f.ReservedConcurrentExecutions, g.ReservedConcurrentExecutions)
		out.ReservedConcurrency = &n
	}
	if g.Environment != nil {
		maps.Copy(out.Environment, g.Environment.Variables)
	}
	if f.Environment != nil {
		maps.Copy(out.Environment, f.Environment.Variables)
	}
	lc := map[string]string{}
	maps.Copy(lc, logging.Globals.Function.LoggingConfig)
	maps.Copy(lc, logging.Resources[id].Properties.LoggingConfig)
	out.LogFormat = lc["LogFormat"]
	out.ApplicationLogLevel = lc["ApplicationLogLevel"]
	out.SystemLogLevel = lc["SystemLogLevel"]
	return out, nil
}

type loggingDoc struct {
	Globals struct {
		Function struct {
			LoggingConfig map[string]string `json:"LoggingConfig"`
		} `json:"Function"`
	} `json:"Globals"`
	Resources map[string]struct {
		Properties struct {
			LoggingConfig map[string]string `json:"LoggingConfig"`
		} `json:"Properties"`
	} `json:"Resources"`
}

func first(vals ...*string) string {
	for _, v := range vals {
		if v != nil && *v != "" {
			return *v
		}
	}
	return ""
}

func firstInt(vals ...*int) int {
	for _, v := range vals {
		if v != nil {
			return *v
		}
	}
	return 0
}
