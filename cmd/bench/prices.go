package main

// The on-demand prices the cost table uses: US East (N. Virginia), in US dollars, as published
// on the pages below on pricesAsOf. They change: check them there before relying on a figure.
//
//   - DynamoDB on-demand, Standard table class (https://aws.amazon.com/dynamodb/pricing/on-demand/):
//     $0.625 per million write request units, $0.125 per million read request units (the prices
//     since the reduction of 1 November 2024).
//   - Secrets Manager (https://aws.amazon.com/secrets-manager/pricing/): $0.05 per 10,000 API
//     calls.
//   - Lambda, Arm (https://aws.amazon.com/lambda/pricing/): $0.20 per million requests and
//     $0.0000133334 per GB-second, duration billed in 1 ms steps (first pricing tier).
//   - API Gateway HTTP APIs (https://aws.amazon.com/api-gateway/pricing/): $1.00 per million
//     requests (the first 300 million a month), each request counted per 512 KB.
const (
	pricesAsOf = "2026-12-03"

	dynamoDBWritePerMillionUnits = 0.625
	dynamoDBReadPerMillionUnits  = 0.125
	secretsManagerPerCall        = 0.05 / 10_000
	lambdaARMPerMillionRequests  = 0.20
	lambdaARMPerGBSecond         = 0.0000133334
	httpAPIPerMillionRequests    = 1.00
)
