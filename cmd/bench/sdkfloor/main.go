// Command sdkfloor is hello world with the AWS SDK clients every function of the service builds,
// a DynamoDB and a Secrets Manager client, made in main and never called: the least a function
// of this service can take to start, which the benchmark report sets beside the functions'.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func main() {
	cfg := aws.Config{Region: os.Getenv("AWS_REGION")}
	_, _ = dynamodb.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	lambda.Start(func(context.Context) (string, error) { return "hello, world", nil })
}
