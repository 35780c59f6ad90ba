package stack

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// DefaultName is the stack's name when neither a flag nor samconfig.toml names another.
const DefaultName = "apitokens"

// deploySection is the table of samconfig.toml where `sam deploy --guided` saves its answers.
const deploySection = "default.deploy.parameters"

// Deployed is what samconfig.toml says of the deployed stack: its name and region, as
// `sam deploy --guided` saved them ("" for what it does not say).
type Deployed struct {
	StackName, Region string
}

// ReadSAMConfig reads stack_name and region from the [default.deploy.parameters] table of the
// samconfig.toml at path. A missing file says nothing and is no error. It reads the simple
// `key = "value"` lines sam writes, not every form TOML allows.
func ReadSAMConfig(path string) (Deployed, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Deployed{}, nil
	}
	if err != nil {
		return Deployed{}, err
	}
	defer f.Close()
	var d Deployed
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "["); ok && strings.HasSuffix(name, "]") {
			section = strings.TrimSpace(strings.TrimSuffix(name, "]"))
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section != deploySection {
			continue
		}
		s, err := strconv.Unquote(strings.TrimSpace(value))
		if err != nil {
			continue // not a plain string: not a value read here
		}
		switch strings.TrimSpace(key) {
		case "stack_name":
			d.StackName = s
		case "region":
			d.Region = s
		}
	}
	if err := sc.Err(); err != nil {
		return Deployed{}, fmt.Errorf("read %s: %w", path, err)
	}
	return d, nil
}

// Target is the stack an operator command works on, from its flags -stack, -region and
// -samconfig.
type Target struct {
	name, region, samconfig *string
}

// Flags registers -stack, -region and -samconfig on fl.
func Flags(fl *flag.FlagSet) *Target {
	return &Target{
		name:      fl.String("stack", "", "the deployed stack (default: samconfig.toml's stack_name, else "+DefaultName+")"),
		region:    fl.String("region", "", "its region (default: samconfig.toml's region, else the AWS configuration's)"),
		samconfig: fl.String("samconfig", "samconfig.toml", "where sam deploy --guided saved the stack's name and region"),
	}
}

// Resolve returns the AWS configuration in the stack's region and the stack's name: each from its
// flag, else from samconfig.toml, where `sam deploy --guided` saved them, else the defaults (the
// AWS configuration's region: AWS_REGION, the profile). So the commands look for the stack where
// it was deployed, whatever region the shell's AWS configuration names.
func (t *Target) Resolve(ctx context.Context) (aws.Config, string, error) {
	d, err := ReadSAMConfig(*t.samconfig)
	if err != nil {
		return aws.Config{}, "", err
	}
	name := firstOf(*t.name, d.StackName, DefaultName)
	var opts []func(*config.LoadOptions) error
	if region := firstOf(*t.region, d.Region); region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, "", fmt.Errorf("AWS configuration: %w", err)
	}
	return cfg, name, nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
