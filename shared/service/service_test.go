package service_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/emulatortest"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }

// lambdaEnv is what Lambda sets for a function with an execution role, with made-up values.
var lambdaEnv = map[string]string{
	"AWS_REGION":            "eu-west-1",
	"AWS_DEFAULT_REGION":    "eu-west-1",
	"AWS_ACCESS_KEY_ID":     "example-access-key-id",
	"AWS_SECRET_ACCESS_KEY": "example-secret-access-key",
	"AWS_SESSION_TOKEN":     "example-session-token",
	"AWS_ENDPOINT_URL":      "", // as the template sets it
}

// with returns lambdaEnv changed by kv (name, value, name, value…); an empty value unsets.
func with(kv ...string) map[string]string {
	env := map[string]string{}
	for k, v := range lambdaEnv {
		env[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

func TestAWSConfigFromEnv(t *testing.T) {
	tests := map[string]struct {
		env          map[string]string
		wantRegion   string
		wantEndpoint string // "" for none
		wantToken    string
	}{
		"lambda": {
			env: lambdaEnv, wantRegion: "eu-west-1", wantToken: "example-session-token",
		},
		"AWS_REGION comes before AWS_DEFAULT_REGION": {
			env: with("AWS_DEFAULT_REGION", "us-east-2"), wantRegion: "eu-west-1", wantToken: "example-session-token",
		},
		"AWS_DEFAULT_REGION when AWS_REGION is empty": {
			env: with("AWS_REGION", "", "AWS_DEFAULT_REGION", "us-east-2"), wantRegion: "us-east-2", wantToken: "example-session-token",
		},
		"endpoint override": {
			env:        with("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
			wantRegion: "eu-west-1", wantEndpoint: "http://127.0.0.1:4566", wantToken: "example-session-token",
		},
		"no AWS_ENDPOINT_URL at all": {
			env: with("AWS_ENDPOINT_URL", ""), wantRegion: "eu-west-1", wantToken: "example-session-token",
		},
		"long-lived keys without a session token": {
			env: with("AWS_SESSION_TOKEN", ""), wantRegion: "eu-west-1",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := service.AWSConfigFromEnv(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if cfg.Region != tt.wantRegion {
				t.Errorf("got region %q, want %q", cfg.Region, tt.wantRegion)
			}
			if got := aws.ToString(cfg.BaseEndpoint); got != tt.wantEndpoint {
				t.Errorf("got endpoint %q, want %q", got, tt.wantEndpoint)
			}
			if _, ok := cfg.Credentials.(*aws.CredentialsCache); !ok {
				t.Errorf("got credentials provider %T, want *aws.CredentialsCache", cfg.Credentials)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("retrieve credentials: got error %v, want nil", err)
			}
			if creds.AccessKeyID != tt.env["AWS_ACCESS_KEY_ID"] || creds.SecretAccessKey != tt.env["AWS_SECRET_ACCESS_KEY"] {
				t.Error("got other credentials than AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, want those")
			}
			if creds.SessionToken != tt.wantToken {
				t.Errorf("got session token %q, want %q", creds.SessionToken, tt.wantToken)
			}
		})
	}
}

func TestAWSConfigFromEnvRefuses(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		want []string // what the error names
	}{
		"no region": {
			env:  with("AWS_REGION", "", "AWS_DEFAULT_REGION", ""),
			want: []string{"AWS_REGION", "AWS_DEFAULT_REGION"},
		},
		"no access key id": {
			env:  with("AWS_ACCESS_KEY_ID", ""),
			want: []string{"AWS_ACCESS_KEY_ID must be set"},
		},
		"no secret access key": {
			env:  with("AWS_SECRET_ACCESS_KEY", ""),
			want: []string{"AWS_SECRET_ACCESS_KEY must be set"},
		},
		"no credentials": {
			env:  with("AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "", "AWS_SESSION_TOKEN", ""),
			want: []string{"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set"},
		},
		"endpoint without a scheme": {
			env:  with("AWS_ENDPOINT_URL", "localhost:4566"),
			want: []string{"AWS_ENDPOINT_URL"},
		},
		"endpoint of another scheme": {
			env:  with("AWS_ENDPOINT_URL", "ftp://127.0.0.1:4566"),
			want: []string{"AWS_ENDPOINT_URL"},
		},
		"endpoint with a user and password but no host": {
			env:  with("AWS_ENDPOINT_URL", "http://user:example-password@"),
			want: []string{"AWS_ENDPOINT_URL"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := service.AWSConfigFromEnv(func(k string) string { return tt.env[k] })
			if err == nil {
				t.Fatal("got no error, want one")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got error %q, want it to say %q", err, want)
				}
			}
			// The error names variables, never their values.
			for k, v := range tt.env {
				if v != "" && strings.Contains(err.Error(), v) {
					t.Errorf("the error shows the value of %s", k)
				}
			}
		})
	}
}

// TestFromEnv starts a function's dependencies with the environment the local run gives the
// functions, and makes a real call through each client to the emulator.
func TestFromEnv(t *testing.T) {
	env := emulatortest.New(t)
	for k, v := range map[string]string{
		"TABLE_NAME":            env.TableName,
		"KEYRING_SECRET_ID":     env.SecretARN,
		"AWS_ENDPOINT_URL":      env.Endpoint,
		"AWS_REGION":            emulator.Region,
		"AWS_DEFAULT_REGION":    emulator.Region,
		"AWS_ACCESS_KEY_ID":     "emulator",
		"AWS_SECRET_ACCESS_KEY": "emulator",
		"AWS_SESSION_TOKEN":     "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	deps, err := service.FromEnv(ctx)
	if err != nil {
		t.Fatalf("FromEnv: got error %v, want nil", err)
	}
	ring, err := deps.Keys.Ring(ctx)
	if err != nil {
		t.Fatalf("read the key ring: got error %v, want nil", err)
	}
	if ring.Current() == nil {
		t.Error("got a key ring without a current version, want one")
	}
	n, err := deps.Store.Count(ctx, "env-1", "ann")
	if err != nil {
		t.Fatalf("count tokens: got error %v, want nil", err)
	}
	if n != 0 {
		t.Errorf("got %d tokens in a new table, want 0", n)
	}
}
