package lambdas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// rieModule is the package of the Runtime Interface Emulator, pinned in go.mod as a tool.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// BuildEmulator builds the Runtime Interface Emulator into outDir and returns its path.
func BuildEmulator(ctx context.Context, root, outDir string) (string, error) {
	out := filepath.Join(outDir, "aws-lambda-rie")
	if err := goBuild(ctx, root, nil, "-o", out, rieModule); err != nil {
		return "", fmt.Errorf("build the runtime interface emulator: %w", err)
	}
	return out, nil
}

// BootstrapPath returns where Build puts a function's binary.
func BootstrapPath(outDir, logicalID string) string {
	return filepath.Join(outDir, logicalID, "bootstrap")
}

// Build compiles every function's CodeUri folder into outDir/<LogicalID>/bootstrap for the host,
// with the flags SAM's go1.x build method uses, at most parallel at a time. It returns every
// build failure, joined.
func Build(ctx context.Context, root, outDir string, fns []*samtemplate.Function, parallel int) error {
	return BuildFor(ctx, root, outDir, fns, parallel, runtime.GOOS, runtime.GOARCH)
}

// BuildFor is Build for another platform, such as linux/arm64, the architecture the template
// deploys to.
func BuildFor(ctx context.Context, root, outDir string, fns []*samtemplate.Function, parallel int, goos, goarch string) error {
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = buildFunction(ctx, root, outDir, f, goos, goarch)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func buildFunction(ctx context.Context, root, outDir string, f *samtemplate.Function, goos, goarch string) error {
	if f.Runtime != "" && !strings.HasPrefix(f.Runtime, "provided") {
		return fmt.Errorf("function %s: runtime %s: the local run builds Go functions for provided runtimes only", f.LogicalID, f.Runtime)
	}
	pkg, err := filepath.Rel(root, f.CodeDir)
	if err != nil || strings.HasPrefix(pkg, "..") {
		return fmt.Errorf("function %s: CodeUri %s lies outside the module", f.LogicalID, f.CodeDir)
	}
	if _, err := os.Stat(f.CodeDir); err != nil {
		return fmt.Errorf("function %s: %w", f.LogicalID, err)
	}
	env := []string{"CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch}
	err = goBuild(ctx, root, env,
		"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w",
		"-o", BootstrapPath(outDir, f.LogicalID), "./"+filepath.ToSlash(pkg))
	if err != nil {
		return fmt.Errorf("function %s: %w", f.LogicalID, err)
	}
	return nil
}

func goBuild(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", args[len(args)-1], err, strings.TrimSpace(out.String()))
	}
	return nil
}
