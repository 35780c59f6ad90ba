package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/inbox"
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
	Inbox  *inbox.Inbox
	Keys   *keyring.Source
	Format apikey.Format
	Now    func() time.Time
	Log    *slog.Logger
}

// New builds Deps over the given AWS configuration. Nothing is fetched yet: the key ring is read
// on first use, so a function that never needs it never calls Secrets Manager.
func New(cfg Config, awsCfg aws.Config, log *slog.Logger) (*Deps, error) {
	format, err := apikey.NewFormat(cfg.KeyPrefix)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	return &Deps{
		Config: cfg,
		Store:  tokenstore.New(db, cfg.TableName),
		Inbox:  inbox.New(db, cfg.TableName),
		Keys:   keyring.NewSource(secretsmanager.NewFromConfig(awsCfg), cfg.SecretID),
		Format: format,
		Now:    time.Now,
		Log:    log,
	}, nil
}

// FromEnv builds Deps from the function's environment and the default AWS configuration chain
// (which honours AWS_ENDPOINT_URL, as the local run sets it).
func FromEnv(ctx context.Context) (*Deps, error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return New(cfg, awsCfg, Logger(os.Stdout))
}

// Logger returns the JSON logger every function writes with, at the level Lambda's
// ApplicationLogLevel sets (AWS_LAMBDA_LOG_LEVEL), INFO by default.
func Logger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToUpper(os.Getenv("AWS_LAMBDA_LOG_LEVEL")) {
	case "DEBUG", "TRACE":
		level = slog.LevelDebug
	case "WARN":
		level = slog.LevelWarn
	case "ERROR", "FATAL":
		level = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
