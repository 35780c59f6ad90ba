package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/logging"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Config is what a function reads from its environment; the template sets it from parameters.
type Config struct {
	TableName    string // TABLE_NAME
	SecretID     string // KEYRING_SECRET_ID
	KeyPrefix    string // KEY_PREFIX, default cbk_
	TokenLimit   int    // TOKEN_LIMIT, default 50
	Claims       httpapi.ClaimNames
	AuthCacheTTL time.Duration // AUTH_CACHE_TTL in seconds, default 5 (the key authorizer only)
	// PolicyCacheTTL is POLICY_CACHE_TTL in seconds, default 55 (the key authorizer only): how
	// long it keeps an environment's policy.
	PolicyCacheTTL time.Duration
	Webhooks       WebhookConfig // subscriptions and the events queue (webhooks.go)
}

// ConfigFromEnv reads Config through getenv (os.Getenv in a function).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		TableName: getenv("TABLE_NAME"),
		SecretID:  getenv("KEYRING_SECRET_ID"),
		KeyPrefix: or(getenv("KEY_PREFIX"), apikey.DefaultPrefix),
		Claims: httpapi.ClaimNames{
			Environment: or(getenv("ENVIRONMENT_CLAIM"), httpapi.DefaultClaimNames.Environment),
			Groups:      or(getenv("GROUPS_CLAIM"), httpapi.DefaultClaimNames.Groups),
			AdminGroup:  or(getenv("ADMIN_GROUP"), httpapi.DefaultClaimNames.AdminGroup),
		},
	}
	if cfg.TableName == "" || cfg.SecretID == "" {
		return Config{}, fmt.Errorf("config: TABLE_NAME and KEYRING_SECRET_ID must be set")
	}
	var err error
	if cfg.TokenLimit, err = positiveInt(getenv, "TOKEN_LIMIT", 50); err != nil {
		return Config{}, err
	}
	ttl, err := positiveInt(getenv, "AUTH_CACHE_TTL", 5)
	if err != nil {
		return Config{}, err
	}
	cfg.AuthCacheTTL = time.Duration(ttl) * time.Second
	policyTTL, err := positiveInt(getenv, "POLICY_CACHE_TTL", 55)
	if err != nil {
		return Config{}, err
	}
	cfg.PolicyCacheTTL = time.Duration(policyTTL) * time.Second
	if cfg.Webhooks, err = webhookConfigFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if _, err := apikey.NewFormat(cfg.KeyPrefix); err != nil {
		return Config{}, fmt.Errorf("config: KEY_PREFIX: %w", err)
	}
	return cfg, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func positiveInt(getenv func(string) string, name string, def int) (int, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("config: %s must be a whole number ≥ 0, got %q", name, s)
	}
	return n, nil
}

// Deps is what the handlers share.
type Deps struct {
	Config Config
	Store  *tokenstore.Store
	Keys   *keyring.Source
	Format apikey.Format
	Now    func() time.Time
	Log    *slog.Logger
	// Events is the events queue; nil when the function publishes none (EVENTS_QUEUE_URL unset).
	Events *eventqueue.Queue
}

// New builds Deps over the given AWS configuration, their clock now (time.Now in a function; the
// store and the key ring read the same one). Nothing is fetched yet: the key ring is read
// on first use, so a function that never needs it never calls Secrets Manager.
func New(cfg Config, awsCfg aws.Config, log *slog.Logger, now func() time.Time) (*Deps, error) {
	format, err := apikey.NewFormat(cfg.KeyPrefix)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	return &Deps{
		Config: cfg,
		Store:  tokenstore.New(db, cfg.TableName, now),
		Keys:   keyring.NewSource(secretsmanager.NewFromConfig(awsCfg), cfg.SecretID, now),
		Format: format,
		Now:    now,
		Log:    log,
		Events: eventsQueue(cfg, awsCfg),
	}, nil
}

// FromEnv builds Deps from the function's environment: Config through ConfigFromEnv and the AWS
// SDK configuration through AWSConfigFromEnv. It calls nothing over the network, so ctx bounds
// nothing yet; main passes one so that its wiring need not change if that does.
func FromEnv(ctx context.Context) (*Deps, error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := AWSConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return New(cfg, awsCfg, Logger(os.Stdout), time.Now)
}

// AWSConfigFromEnv builds the AWS SDK configuration from the variables Lambda sets in every
// execution environment, read through getenv (os.Getenv in a function):
//
//   - AWS_REGION, or AWS_DEFAULT_REGION when it is empty;
//   - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, the execution role's
//     credentials (the token may be empty, as for the local run's fixed keys);
//   - AWS_ENDPOINT_URL, when it is not empty: one endpoint for every service, as the local run
//     sets it to its AWS emulator (the template sets it empty, which means AWS's own endpoints).
//
// It stands in for config.LoadDefaultConfig on purpose, to keep cold starts short: that chain
// also reads shared config files and profiles and can fetch credentials from SSO, STS, the
// instance metadata service or a container endpoint, none of which a Lambda function uses, and
// linking their clients made every bootstrap about 2 MB larger (10.2 MB instead of 8.3 for the
// key authorizer on arm64) and its package initialisation about a millisecond longer. Nothing
// else is read (no profiles, retry settings or service-specific endpoints); the SDK's defaults
// apply: the standard retryer, and an HTTP client of its own for each service client. A missing
// region or key fails here, at start, naming the variable and never showing a value.
func AWSConfigFromEnv(getenv func(string) string) (aws.Config, error) {
	region := or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	if region == "" {
		return aws.Config{}, errors.New("aws config: AWS_REGION or AWS_DEFAULT_REGION must be set")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	var missing []string
	if id == "" {
		missing = append(missing, "AWS_ACCESS_KEY_ID")
	}
	if secret == "" {
		missing = append(missing, "AWS_SECRET_ACCESS_KEY")
	}
	if len(missing) > 0 {
		return aws.Config{}, fmt.Errorf("aws config: %s must be set (Lambda sets the execution role's keys there)",
			strings.Join(missing, " and "))
	}
	cfg := aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(
			credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
		// As LoadDefaultConfig has it: the SDK's rare warnings go to the function's log.
		Logger:       logging.NewStandardLogger(os.Stderr),
		DefaultsMode: aws.DefaultsModeLegacy,
	}
	if endpoint := getenv("AWS_ENDPOINT_URL"); endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The value is not repeated: a URL may carry a user and password.
			return aws.Config{}, errors.New("aws config: AWS_ENDPOINT_URL must be an http or https URL, or empty")
		}
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}
