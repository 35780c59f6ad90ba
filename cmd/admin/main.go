// Command admin creates an environment administrator in the Cognito user pool that the stack
// makes for the dashboard (template.yaml, IdentityProvider create): the user, with its
// environment set through the admin API (no app client may write custom:environment_id), in the
// admin group, with a temporary password that Cognito emails to them. Run it once after the
// first deploy (`make admin EMAIL=… ENVIRONMENT=…`); it is safe to run again for the same user.
//
// Usage:
//
//	admin -email E -environment ENV [-stack NAME] [-region R] [-samconfig samconfig.toml] [-user-pool-id ID] [-group admin]
//
// The stack's name and region come from samconfig.toml, where `sam deploy --guided` saved them
// (the flags win; apitokens and the AWS configuration's region without it); credentials from the
// usual places (AWS_PROFILE, …); AWS_ENDPOINT_URL points it at an emulator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/apitokens/apitokens/cmd/internal/stack"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("admin", flag.ContinueOnError)
	fl.SetOutput(stderr)
	email := fl.String("email", "", "the administrator's email address (their user name)")
	environment := fl.String("environment", "", "the environment (brokerage) id they administer")
	target := stack.Flags(fl)
	poolID := fl.String("user-pool-id", "", "the user pool (instead of -stack)")
	group := fl.String("group", "admin", "the administrators' group (the template's AdminGroup)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	cfg, stackName, err := target.Resolve(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "admin:", err)
		return 1
	}
	if *poolID == "" {
		*poolID, err = stack.Output(ctx, cloudformation.NewFromConfig(cfg), stackName, "UserPoolId")
		if errors.Is(err, stack.ErrNoOutput) {
			fmt.Fprintf(stderr, "admin: stack %s made no user pool (IdentityProvider existing): create administrators in your own identity provider\n", stackName)
			return 1
		}
		if err != nil {
			fmt.Fprintln(stderr, "admin:", err)
			return 1
		}
	}
	res, err := CreateAdmin(ctx, cip.NewFromConfig(cfg), Request{
		UserPoolID: *poolID, Email: *email, Environment: *environment, Group: *group,
	})
	if err != nil {
		fmt.Fprintln(stderr, "admin:", err)
		return 1
	}
	if res.Created {
		fmt.Fprintf(stdout, "created %s in environment %s and group %s of user pool %s; Cognito emails them a temporary password, to be changed at the first sign-in\n", *email, *environment, *group, *poolID)
	} else {
		fmt.Fprintf(stdout, "%s already existed in environment %s; now in group %s of user pool %s\n", *email, *environment, *group, *poolID)
	}
	return 0
}
