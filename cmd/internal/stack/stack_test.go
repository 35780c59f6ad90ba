package stack

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/apitokens/apitokens/testkit/emulatortest"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }

func TestOutput(t *testing.T) {
	ctx := context.Background()
	env := emulatortest.New(t)
	cf := cloudformation.NewFromConfig(env.Config)
	body := `{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}},"Outputs":{"UserPoolId":{"Value":"us-east-1_abcdefghi"}}}`
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("apitokens-test"), TemplateBody: &body}); err != nil {
		t.Fatal(err)
	}
	if got, err := Output(ctx, cf, "apitokens-test", "UserPoolId"); err != nil || got != "us-east-1_abcdefghi" {
		t.Errorf("UserPoolId got %q, %v, want us-east-1_abcdefghi", got, err)
	}
	if _, err := Output(ctx, cf, "apitokens-test", "KeyRingSecretArn"); !errors.Is(err, ErrNoOutput) {
		t.Errorf("a missing output: err got %v, want ErrNoOutput", err)
	}
	if _, err := Output(ctx, cf, "no-such-stack", "UserPoolId"); err == nil || errors.Is(err, ErrNoOutput) {
		t.Errorf("a missing stack: err got %v, want the describe error", err)
	}
}
