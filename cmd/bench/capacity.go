package main

import (
	"context"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Usage is what one call of an action consumed.
type Usage struct {
	// ReadUnits and WriteUnits are DynamoDB's read and write request units, as on-demand tables
	// are billed: computed from the items' sizes.
	ReadUnits, WriteUnits float64
	// SecretsCalls counts the calls to Secrets Manager.
	SecretsCalls int
}

// capacityMeter adds up the DynamoDB request units and the Secrets Manager calls that pass
// through a meterProxy. The units are computed from the items' sizes as DynamoDB bills
// them: moto answers ReturnConsumedCapacity with fixed figures (0.5 or 1, whatever the item).
// A write is billed on the larger of the item before and after it, so the meter reads each
// written item before and after the write with a client of its own, which it does not count.
type capacityMeter struct {
	db   *dynamodb.Client // unmetered
	keys []string         // the table's key attributes
	mu   sync.Mutex
	used Usage
}

// take returns the usage since the last take and starts again from zero.
func (m *capacityMeter) take() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.used
	m.used = Usage{}
	return u
}

func (m *capacityMeter) add(u Usage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.used.ReadUnits += u.ReadUnits
	m.used.WriteUnits += u.WriteUnits
	m.used.SecretsCalls += u.SecretsCalls
}

// writtenItem is one item a write touches, and how many times its units count (2 in a
// transaction).
type writtenItem struct {
	table  string
	key    map[string]types.AttributeValue
	factor float64
}

func (m *capacityMeter) writtenItems(params any) []writtenItem {
	var out []writtenItem
	one := func(table *string, key map[string]types.AttributeValue, factor float64) {
		out = append(out, writtenItem{table: aws.ToString(table), key: m.keyOf(key), factor: factor})
	}
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		one(in.TableName, in.Item, 1)
	case *dynamodb.UpdateItemInput:
		one(in.TableName, in.Key, 1)
	case *dynamodb.DeleteItemInput:
		one(in.TableName, in.Key, 1)
	case *dynamodb.BatchWriteItemInput:
		for table, reqs := range in.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil {
					one(&table, r.PutRequest.Item, 1)
				} else if r.DeleteRequest != nil {
					one(&table, r.DeleteRequest.Key, 1)
				}
			}
		}
	case *dynamodb.TransactWriteItemsInput:
		// Every action of a transaction is billed twice, a condition check as a write.
		for _, t := range in.TransactItems {
			switch {
			case t.Put != nil:
				one(t.Put.TableName, t.Put.Item, 2)
			case t.Update != nil:
				one(t.Update.TableName, t.Update.Key, 2)
			case t.Delete != nil:
				one(t.Delete.TableName, t.Delete.Key, 2)
			case t.ConditionCheck != nil:
				one(t.ConditionCheck.TableName, t.ConditionCheck.Key, 2)
			}
		}
	}
	return out
}

func (m *capacityMeter) keyOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	key := map[string]types.AttributeValue{}
	for _, k := range m.keys {
		key[k] = item[k]
	}
	return key
}

// sizes reads the items, strongly consistent, and returns their sizes (0 for a missing one).
func (m *capacityMeter) sizes(ctx context.Context, items []writtenItem) []int {
	out := make([]int, len(items))
	for i, w := range items {
		got, err := m.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(w.table), Key: w.key, ConsistentRead: aws.Bool(true)})
		if err == nil {
			out[i] = itemSize(got.Item)
		}
	}
	return out
}

// readUsage returns the read request units of a read.
func readUsage(params, result any) float64 {
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		return readUnits(itemSize(out.Item), aws.ToBool(params.(*dynamodb.GetItemInput).ConsistentRead))
	case *dynamodb.QueryOutput:
		return readUnits(itemsSize(out.Items), aws.ToBool(params.(*dynamodb.QueryInput).ConsistentRead))
	case *dynamodb.ScanOutput:
		return readUnits(itemsSize(out.Items), aws.ToBool(params.(*dynamodb.ScanInput).ConsistentRead))
	case *dynamodb.BatchGetItemOutput:
		var units float64
		for table, items := range out.Responses {
			consistent := aws.ToBool(params.(*dynamodb.BatchGetItemInput).RequestItems[table].ConsistentRead)
			for _, item := range items {
				units += readUnits(itemSize(item), consistent)
			}
		}
		return units
	case *dynamodb.TransactGetItemsOutput:
		var units float64
		for _, r := range out.Responses {
			units += 2 * readUnits(itemSize(r.Item), true)
		}
		return units
	}
	return 0
}

// readUnits is what reading size bytes costs: one unit per 4 KB begun, at least one, half of
// that when eventually consistent.
func readUnits(size int, consistent bool) float64 {
	units := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		units /= 2
	}
	return units
}

// writeUnits is what writing an item of size bytes costs: one unit per 1 KB begun, at least one.
func writeUnits(size int) float64 {
	return math.Max(1, math.Ceil(float64(size)/1024))
}

func itemsSize(items []map[string]types.AttributeValue) int {
	total := 0
	for _, item := range items {
		total += itemSize(item)
	}
	return total
}

// itemSize is an item's size as DynamoDB counts it: each attribute's name and value.
func itemSize(item map[string]types.AttributeValue) int {
	size := 0
	for name, v := range item {
		size += len(name) + valueSize(v)
	}
	return size
}

// valueSize follows DynamoDB's item size rules: strings and binaries by their bytes; a number
// by one byte per two significant digits plus one; a boolean or null one byte; a list or map
// 3 bytes plus one per element plus the elements (and a map's names); a set its elements.
func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// numberSize is one byte per two significant digits, plus one.
func numberSize(n string) int {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.SplitN(strings.ToLower(n), "e", 2)[0])
	digits = strings.Trim(digits, "0")
	return (utf8.RuneCountInString(digits)+1)/2 + 1
}
