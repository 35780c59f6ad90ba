// Command hello is the smallest Go Lambda function: the baseline the benchmark report compares
// the functions' cold starts and sizes with. It answers every event with a greeting.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) (string, error) { return "hello, world", nil })
}
