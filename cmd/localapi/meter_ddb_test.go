package main

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type ddbValue = types.AttributeValue

func ddbString(s string) ddbValue { return &types.AttributeValueMemberS{Value: s} }

func num(v ddbValue) int64 {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	i, _ := strconv.ParseInt(n.Value, 10, 64)
	return i
}
