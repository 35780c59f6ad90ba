// Command rotatekeyring rotates the key ring with no moment in which a valid key is refused. It
// adds a new version to the secret while "current" stays where it is, waits until every
// function must have fetched the ring again (each keeps it for keyring.DefaultTTL), and only
// then points "current" at the new version. Old versions stay: the tokens made under them keep
// working and can still be revealed.
//
// Usage:
//
//	rotatekeyring [-stack NAME] [-region R] [-samconfig samconfig.toml] [-secret-id ARN] [-wait 6m]
//
// The stack's name and region come from samconfig.toml, where `sam deploy --guided` saved them
// (the flags win; apitokens and the AWS configuration's region without it); credentials from the
// usual places (AWS_PROFILE, …); AWS_ENDPOINT_URL points it at an emulator. Ctrl-C during the wait leaves the new version added
// but not current, which is harmless; a later run adds another.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/cmd/internal/stack"
	"github.com/apitokens/apitokens/shared/keyring"
)

// DefaultWait is how long the new version is left in the ring before it becomes current: the
// functions' ring cache, plus a minute for calls in flight and for Secrets Manager to answer
// every reader with the new value.
const DefaultWait = keyring.DefaultTTL + time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("rotatekeyring", flag.ContinueOnError)
	fl.SetOutput(stderr)
	target := stack.Flags(fl)
	secretID := fl.String("secret-id", "", "the key ring secret (instead of -stack)")
	wait := fl.Duration("wait", DefaultWait, "how long the new version is in the ring before it becomes current; shorter than the functions' ring cache ("+keyring.DefaultTTL.String()+") reopens the gap")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	cfg, stackName, err := target.Resolve(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "rotatekeyring:", err)
		return 1
	}
	if *secretID == "" {
		if *secretID, err = stack.Output(ctx, cloudformation.NewFromConfig(cfg), stackName, "KeyRingSecretArn"); err != nil {
			fmt.Fprintln(stderr, "rotatekeyring:", err)
			return 1
		}
	}
	r := &Rotation{Client: secretsmanager.NewFromConfig(cfg), SecretID: *secretID, Wait: *wait, Log: stdout}
	if _, err := r.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "rotatekeyring:", err)
		return 1
	}
	return 0
}
