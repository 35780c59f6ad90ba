package snapshot

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// attr is an attribute value in DynamoDB's own JSON form ({"S": "…"}, {"N": "1"}, {"M": {…}}),
// so a saved item comes back with the exact types and numbers it had.
type attr struct {
	S    *string          `json:"S,omitempty"`
	N    *string          `json:"N,omitempty"`
	B    *[]byte          `json:"B,omitempty"`
	BOOL *bool            `json:"BOOL,omitempty"`
	NULL bool             `json:"NULL,omitempty"`
	M    map[string]*attr `json:"M,omitempty"`
	L    []*attr          `json:"L,omitempty"`
	SS   []string         `json:"SS,omitempty"`
	NS   []string         `json:"NS,omitempty"`
	BS   [][]byte         `json:"BS,omitempty"`
	// isM and isL tell an empty map or list from an absent one, which omitempty cannot.
	IsM bool `json:"isM,omitempty"`
	IsL bool `json:"isL,omitempty"`
}

func fromItem(item map[string]types.AttributeValue) (map[string]*attr, error) {
	out := make(map[string]*attr, len(item))
	for k, v := range item {
		a, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = a
	}
	return out, nil
}

func fromValue(v types.AttributeValue) (*attr, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &attr{S: &v.Value}, nil
	case *types.AttributeValueMemberN:
		return &attr{N: &v.Value}, nil
	case *types.AttributeValueMemberB:
		return &attr{B: &v.Value}, nil
	case *types.AttributeValueMemberBOOL:
		return &attr{BOOL: &v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return &attr{NULL: true}, nil
	case *types.AttributeValueMemberSS:
		return &attr{SS: v.Value}, nil
	case *types.AttributeValueMemberNS:
		return &attr{NS: v.Value}, nil
	case *types.AttributeValueMemberBS:
		return &attr{BS: v.Value}, nil
	case *types.AttributeValueMemberM:
		m, err := fromItem(v.Value)
		return &attr{M: m, IsM: true}, err
	case *types.AttributeValueMemberL:
		a := &attr{L: make([]*attr, len(v.Value)), IsL: true}
		for i, e := range v.Value {
			var err error
			if a.L[i], err = fromValue(e); err != nil {
				return nil, err
			}
		}
		return a, nil
	}
	return nil, fmt.Errorf("unknown attribute value type %T", v)
}

func toItem(item map[string]*attr) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(item))
	for k, a := range item {
		v, err := a.value()
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

func (a *attr) value() (types.AttributeValue, error) {
	switch {
	case a == nil:
		return nil, fmt.Errorf("no value")
	case a.S != nil:
		return &types.AttributeValueMemberS{Value: *a.S}, nil
	case a.N != nil:
		return &types.AttributeValueMemberN{Value: *a.N}, nil
	case a.B != nil:
		return &types.AttributeValueMemberB{Value: *a.B}, nil
	case a.BOOL != nil:
		return &types.AttributeValueMemberBOOL{Value: *a.BOOL}, nil
	case a.NULL:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case a.SS != nil:
		return &types.AttributeValueMemberSS{Value: a.SS}, nil
	case a.NS != nil:
		return &types.AttributeValueMemberNS{Value: a.NS}, nil
	case a.BS != nil:
		return &types.AttributeValueMemberBS{Value: a.BS}, nil
	case a.IsM:
		m, err := toItem(a.M)
		return &types.AttributeValueMemberM{Value: m}, err
	case a.IsL:
		l := make([]types.AttributeValue, len(a.L))
		for i, e := range a.L {
			var err error
			if l[i], err = e.value(); err != nil {
				return nil, err
			}
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	}
	b, _ := json.Marshal(a)
	return nil, fmt.Errorf("no type in %s", b)
}
