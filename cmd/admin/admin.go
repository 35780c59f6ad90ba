package main

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// EnvironmentAttribute is the user pool attribute that holds a user's environment: the session
// claim EnvironmentClaim names by default.
const EnvironmentAttribute = "custom:environment_id"

// maxEnvironmentLen is the attribute's MaxLength in template.yaml.
const maxEnvironmentLen = 128

// CognitoAPI is the part of the Cognito user pools client that CreateAdmin uses.
type CognitoAPI interface {
	GetGroup(ctx context.Context, in *cip.GetGroupInput, opts ...func(*cip.Options)) (*cip.GetGroupOutput, error)
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, opts ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, opts ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, opts ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
}

// Request names the administrator to create.
type Request struct {
	UserPoolID  string
	Email       string
	Environment string
	Group       string
	// TemporaryPassword is left empty in use: Cognito then makes one and emails it. Tests set it
	// to sign in as the new user.
	TemporaryPassword string
}

// Result says what CreateAdmin did.
type Result struct {
	// Created is false when the user existed already (in the same environment).
	Created bool
}

// CreateAdmin creates the user with its environment attribute set by the admin API and adds it
// to the group. A user that exists already is only added to the group, and only when its
// environment is the one asked for: CreateAdmin never moves a user to another environment.
// Bad input is refused before any call.
func CreateAdmin(ctx context.Context, c CognitoAPI, r Request) (Result, error) {
	if err := r.validate(); err != nil {
		return Result{}, err
	}
	if _, err := c.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: &r.UserPoolID, GroupName: &r.Group}); err != nil {
		return Result{}, fmt.Errorf("group %s of user pool %s: %w", r.Group, r.UserPoolID, err)
	}
	in := &cip.AdminCreateUserInput{
		UserPoolId: &r.UserPoolID,
		Username:   &r.Email,
		UserAttributes: []ciptypes.AttributeType{
			{Name: aws.String("email"), Value: &r.Email},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
			{Name: aws.String(EnvironmentAttribute), Value: &r.Environment},
		},
		DesiredDeliveryMediums: []ciptypes.DeliveryMediumType{ciptypes.DeliveryMediumTypeEmail},
	}
	if r.TemporaryPassword != "" {
		in.TemporaryPassword = &r.TemporaryPassword
	}
	res := Result{Created: true}
	_, err := c.AdminCreateUser(ctx, in)
	var exists *ciptypes.UsernameExistsException
	switch {
	case errors.As(err, &exists):
		res.Created = false
		if err := sameEnvironment(ctx, c, r); err != nil {
			return Result{}, err
		}
	case err != nil:
		return Result{}, fmt.Errorf("create user %s: %w", r.Email, err)
	}
	if _, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
		UserPoolId: &r.UserPoolID, Username: &r.Email, GroupName: &r.Group,
	}); err != nil {
		return Result{}, fmt.Errorf("add %s to group %s: %w", r.Email, r.Group, err)
	}
	return res, nil
}

// sameEnvironment refuses an existing user whose environment is not the one asked for.
func sameEnvironment(ctx context.Context, c CognitoAPI, r Request) error {
	u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &r.UserPoolID, Username: &r.Email})
	if err != nil {
		return fmt.Errorf("read existing user %s: %w", r.Email, err)
	}
	for _, a := range u.UserAttributes {
		if aws.ToString(a.Name) == EnvironmentAttribute {
			if got := aws.ToString(a.Value); got != r.Environment {
				return fmt.Errorf("user %s exists in environment %q, not %q: it is left as it is", r.Email, got, r.Environment)
			}
			return nil
		}
	}
	return fmt.Errorf("user %s exists without an environment: set %s with the admin API first", r.Email, EnvironmentAttribute)
}

func (r Request) validate() error {
	switch {
	case r.UserPoolID == "":
		return errors.New("no user pool: give -stack or -user-pool-id")
	case r.Group == "":
		return errors.New("no group: give -group")
	}
	if addr, err := mail.ParseAddress(r.Email); err != nil || addr.Address != r.Email {
		return fmt.Errorf("email %q is not a plain address such as ann@example.org", r.Email)
	}
	env := r.Environment
	if env == "" || len(env) > maxEnvironmentLen || strings.TrimSpace(env) != env ||
		strings.IndexFunc(env, func(c rune) bool { return unicode.IsControl(c) }) >= 0 {
		return fmt.Errorf("environment %q: want 1 to %d characters, no surrounding spaces or control characters", env, maxEnvironmentLen)
	}
	return nil
}
