package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }

const tempPassword = "Temporary-Passw0rd"

// pool is a user pool in the emulator made as template.yaml makes it (its Schema and the
// AdminGroup group), with an app client that may sign in with a password through the admin API,
// as a test needs to fetch an ID token.
type pool struct {
	id, client string
	c          *cip.Client
}

func newPool(t *testing.T) pool {
	t.Helper()
	ctx := context.Background()
	env := emulatortest.New(t)
	c := cip.NewFromConfig(env.Config)
	tmpl, err := samtemplate.Open(filepath.Join(emulatortest.Root(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	up, err := tmpl.GetCognitoUserPoolWithName("UserPool")
	if err != nil {
		t.Fatal(err)
	}
	var schema []ciptypes.SchemaAttributeType
	for _, a := range up.Schema {
		schema = append(schema, ciptypes.SchemaAttributeType{
			Name: a.Name, AttributeDataType: ciptypes.AttributeDataType(aws.ToString(a.AttributeDataType)), Mutable: a.Mutable,
		})
	}
	if len(schema) == 0 {
		t.Fatal("template.yaml's UserPool has no Schema")
	}
	p, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName: aws.String(t.Name()), Schema: schema, UsernameAttributes: []ciptypes.UsernameAttributeType{ciptypes.UsernameAttributeTypeEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(p.UserPool.Id)
	group := tmpl.Parameters["AdminGroup"].Default.(string)
	if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: &group}); err != nil {
		t.Fatal(err)
	}
	cl, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: &id, ClientName: aws.String("test"),
		ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	return pool{id: id, client: aws.ToString(cl.UserPoolClient.ClientId), c: c}
}

// idToken signs in as the user with the temporary password, sets a new one as Cognito demands
// at the first sign-in, and returns the claims of the ID token it then gets.
func (p pool) idToken(t *testing.T, email string) map[string]any {
	t.Helper()
	ctx := context.Background()
	auth, err := p.c.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
		UserPoolId: &p.id, ClientId: &p.client, AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": tempPassword},
	})
	if err != nil {
		t.Fatal(err)
	}
	if auth.ChallengeName != ciptypes.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("first sign-in challenge got %q, want NEW_PASSWORD_REQUIRED (a temporary password)", auth.ChallengeName)
	}
	done, err := p.c.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{
		UserPoolId: &p.id, ClientId: &p.client, ChallengeName: auth.ChallengeName, Session: auth.Session,
		ChallengeResponses: map[string]string{"USERNAME": email, "NEW_PASSWORD": "Another-Passw0rd-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := aws.ToString(done.AuthenticationResult.IdToken)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token has %d parts, want 3", len(parts))
	}
	var header map[string]any
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &header) != nil || header["alg"] != "RS256" {
		t.Errorf("ID token header got %v, want alg RS256", header)
	}
	var claims map[string]any
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestCreateAdmin(t *testing.T) {
	ctx := context.Background()
	p := newPool(t)
	req := Request{UserPoolID: p.id, Email: "ann@brokerage.test", Environment: "env-1", Group: "admin", TemporaryPassword: tempPassword}
	res, err := CreateAdmin(ctx, p.c, req)
	if err != nil || !res.Created {
		t.Fatalf("CreateAdmin got %+v, %v, want created", res, err)
	}

	u, err := p.c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &p.id, Username: &req.Email})
	if err != nil {
		t.Fatal(err)
	}
	if u.UserStatus != ciptypes.UserStatusTypeForceChangePassword {
		t.Errorf("status got %s, want FORCE_CHANGE_PASSWORD (a temporary password)", u.UserStatus)
	}
	claims := p.idToken(t, req.Email)
	if claims["custom:environment_id"] != "env-1" || claims["email"] != req.Email || claims["token_use"] != "id" {
		t.Errorf("ID token claims got environment %v, email %v, token_use %v; want env-1, %s, id",
			claims["custom:environment_id"], claims["email"], claims["token_use"], req.Email)
	}
	groups, _ := claims["cognito:groups"].([]any)
	if !slices.Equal(groups, []any{"admin"}) {
		t.Errorf("cognito:groups got %v, want [admin]", claims["cognito:groups"])
	}

	// Again, same user and environment: nothing new, still an administrator.
	if res, err := CreateAdmin(ctx, p.c, req); err != nil || res.Created {
		t.Errorf("second CreateAdmin got %+v, %v, want not created and no error", res, err)
	}
}

func TestCreateAdminRefuses(t *testing.T) {
	ctx := context.Background()
	p := newPool(t)
	good := Request{UserPoolID: p.id, Email: "bob@brokerage.test", Environment: "env-1", Group: "admin"}
	if _, err := CreateAdmin(ctx, p.c, good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Request)
		want string
	}{
		{"no environment", func(r *Request) { r.Email, r.Environment = "cy@brokerage.test", "" }, "environment"},
		{"environment with a newline", func(r *Request) { r.Email, r.Environment = "cy@brokerage.test", "env\n2" }, "control characters"},
		{"environment too long", func(r *Request) { r.Email, r.Environment = "cy@brokerage.test", strings.Repeat("e", 129) }, "1 to 128"},
		{"not an address", func(r *Request) { r.Email = "Cy <cy@brokerage.test>" }, "plain address"},
		{"no pool", func(r *Request) { r.Email, r.UserPoolID = "cy@brokerage.test", "" }, "no user pool"},
		{"no such group", func(r *Request) { r.Email, r.Group = "cy@brokerage.test", "owners" }, "group owners"},
		{"existing user, other environment", func(r *Request) { r.Environment = "env-2" }, `exists in environment "env-1", not "env-2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			_, err := CreateAdmin(ctx, p.c, r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err got %v, want one that says %q", err, tt.want)
			}
			// Nothing was created or moved.
			users, lerr := p.c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &p.id})
			if lerr != nil {
				t.Fatal(lerr)
			}
			if len(users.Users) != 1 {
				t.Errorf("users got %d, want only the first", len(users.Users))
			}
			for _, a := range users.Users[0].Attributes {
				if aws.ToString(a.Name) == EnvironmentAttribute && aws.ToString(a.Value) != "env-1" {
					t.Errorf("environment got %s, want env-1 unchanged", aws.ToString(a.Value))
				}
			}
		})
	}
}

// TestCommand runs the command as `make admin` does, against the emulator, finding the pool by
// -user-pool-id; without a pool or stack it fails with a message and no user.
func TestCommand(t *testing.T) {
	p := newPool(t)
	env := emulatortest.New(t)
	t.Setenv("AWS_ENDPOINT_URL", env.Endpoint)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "emulator")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "emulator")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-email", "dee@brokerage.test", "-environment", "env-9", "-user-pool-id", p.id}, &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "created dee@brokerage.test in environment env-9 and group admin") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the user created", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"-email", "eve@brokerage.test", "-environment", "env-9", "-stack", "no-such-stack"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "no-such-stack") {
		t.Errorf("unknown stack: exit %d, stderr %q; want a failure that names the stack", code, stderr.String())
	}
	if _, err := p.c.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &p.id, Username: aws.String("eve@brokerage.test")}); !errors.As(err, new(*ciptypes.UserNotFoundException)) {
		t.Errorf("eve: got %v, want no such user", err)
	}
}
