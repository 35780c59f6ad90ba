package tokenstore

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tx builds the items of one TransactWriteItems. The first error of any item is kept and
// reported once by items, so a caller wraps it once.
type tx struct {
	table *string
	list  []types.TransactWriteItem
	err   error
}

func (s *Store) tx() *tx { return &tx{table: &s.table} }

// put adds a Put of item (a struct with dynamodbav tags), guarded by cond when it is not nil.
func (b *tx) put(item any, cond *expression.ConditionBuilder) *tx {
	av, err := attributevalue.MarshalMap(item)
	if b.keep(err) {
		return b
	}
	p := &types.Put{TableName: b.table, Item: av}
	if cond != nil {
		e, err := expression.NewBuilder().WithCondition(*cond).Build()
		if b.keep(err) {
			return b
		}
		p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues = e.Condition(), e.Names(), e.Values()
	}
	b.list = append(b.list, types.TransactWriteItem{Put: p})
	return b
}

// update adds an Update of the item at key, guarded by cond when it is not nil.
func (b *tx) update(key map[string]types.AttributeValue, upd expression.UpdateBuilder, cond *expression.ConditionBuilder) *tx {
	eb := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		eb = eb.WithCondition(*cond)
	}
	e, err := eb.Build()
	if b.keep(err) {
		return b
	}
	b.list = append(b.list, types.TransactWriteItem{Update: &types.Update{TableName: b.table, Key: key,
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}})
	return b
}

// delete adds a Delete of the item at key, guarded by cond when it is not nil.
func (b *tx) delete(key map[string]types.AttributeValue, cond *expression.ConditionBuilder) *tx {
	d := &types.Delete{TableName: b.table, Key: key}
	if cond != nil {
		e, err := expression.NewBuilder().WithCondition(*cond).Build()
		if b.keep(err) {
			return b
		}
		d.ConditionExpression, d.ExpressionAttributeNames, d.ExpressionAttributeValues = e.Condition(), e.Names(), e.Values()
	}
	b.list = append(b.list, types.TransactWriteItem{Delete: d})
	return b
}

func (b *tx) keep(err error) bool {
	if err != nil && b.err == nil {
		b.err = err
	}
	return err != nil
}

// items is the transaction's items, or the first error met building them.
func (b *tx) items() ([]types.TransactWriteItem, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.list, nil
}

// exists is the condition that the item is stored.
func exists() *expression.ConditionBuilder {
	c := expression.AttributeExists(expression.Name("pk"))
	return &c
}

// absent is the condition that no item is stored at the key.
func absent() *expression.ConditionBuilder {
	c := expression.AttributeNotExists(expression.Name("pk"))
	return &c
}
