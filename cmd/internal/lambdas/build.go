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
	pkg, err := functionPackage(root, f)
	if err != nil {
		return err
	}
	env := []string{"CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch}
	err = goBuild(ctx, root, env,
		"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w",
		"-o", BootstrapPath(outDir, f.LogicalID), pkg)
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

// BuildAll compiles every function and the Runtime Interface Emulator for this machine in one
// `go build`, so that the packages they share compile once and the go command schedules every
// compile and link over the CPUs, and returns the emulator's path. Each binary is built into
// outDir/bin, where the go command finds it up to date on the next start and skips the link,
// and is linked to BootstrapPath(outDir, LogicalID).
func BuildAll(ctx context.Context, root, outDir string, fns []*samtemplate.Function) (string, error) {
	bin := filepath.Join(outDir, "bin")
	pkgs := []string{rieModule}
	byName := map[string]string{"aws-lambda-rie": rieModule}
	for _, f := range fns {
		pkg, err := functionPackage(root, f)
		if err != nil {
			return "", err
		}
		if other, ok := byName[filepath.Base(pkg)]; ok && other != pkg {
			return "", fmt.Errorf("function %s: its folder's name %s is another function's too", f.LogicalID, filepath.Base(pkg))
		}
		if _, ok := byName[filepath.Base(pkg)]; !ok {
			byName[filepath.Base(pkg)] = pkg
			pkgs = append(pkgs, pkg)
		}
	}
	args := append([]string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin + "/"}, pkgs...)
	if err := goBuild(ctx, root, []string{"CGO_ENABLED=0"}, args...); err != nil {
		return "", err
	}
	for _, f := range fns {
		pkg, _ := functionPackage(root, f)
		if err := link(filepath.Join(bin, filepath.Base(pkg)), BootstrapPath(outDir, f.LogicalID)); err != nil {
			return "", fmt.Errorf("function %s: %w", f.LogicalID, err)
		}
	}
	return filepath.Join(bin, "aws-lambda-rie"), nil
}

// link makes to name the same file as from, replacing what was there.
func link(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	if err := os.Remove(to); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Link(from, to)
}

// functionPackage returns the package path, relative to root, that builds f.
func functionPackage(root string, f *samtemplate.Function) (string, error) {
	if f.Runtime != "" && !strings.HasPrefix(f.Runtime, "provided") {
		return "", fmt.Errorf("function %s: runtime %s: the local run builds Go functions for provided runtimes only", f.LogicalID, f.Runtime)
	}
	pkg, err := filepath.Rel(root, f.CodeDir)
	if err != nil || strings.HasPrefix(pkg, "..") {
		return "", fmt.Errorf("function %s: CodeUri %s lies outside the module", f.LogicalID, f.CodeDir)
	}
	if _, err := os.Stat(f.CodeDir); err != nil {
		return "", fmt.Errorf("function %s: %w", f.LogicalID, err)
	}
	return "./" + filepath.ToSlash(pkg), nil
}
