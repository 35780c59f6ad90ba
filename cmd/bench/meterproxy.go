package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// meterProxy stands between a built function and the local AWS emulator and meters what passes:
// the function runs as Lambda runs it, its AWS_ENDPOINT_URL pointed here, and the meter reads
// each DynamoDB call and Secrets Manager call off the wire, as its middleware reads them in
// this process.
type meterProxy struct {
	meter    *capacityMeter
	endpoint string // the emulator's
	client   *http.Client
	srv      *http.Server
	url      string
}

// startMeterProxy listens on a free loopback port and forwards every request to endpoint.
func startMeterProxy(meter *capacityMeter, endpoint string) (*meterProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &meterProxy{meter: meter, endpoint: strings.TrimSuffix(endpoint, "/"), client: &http.Client{}, url: "http://" + ln.Addr().String()}
	p.srv = &http.Server{Handler: p}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *meterProxy) Close() { _ = p.srv.Close() }

func (p *meterProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	service, action, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	var params any
	switch {
	case strings.EqualFold(service, "secretsmanager"):
		p.meter.add(Usage{SecretsCalls: 1})
	case strings.HasPrefix(service, "DynamoDB"):
		params = dynamoInput(action, body)
	}
	written := p.meter.writtenItems(params)
	before := p.meter.sizes(r.Context(), written)

	status, header, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.meter.addWrites(r.Context(), written, before)
	if params != nil && status == http.StatusOK {
		p.meter.add(Usage{ReadUnits: readUsage(params, dynamoOutput(action, decoded(header, out)))})
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// forward sends the request on to the emulator and returns its answer.
func (p *meterProxy) forward(r *http.Request, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.endpoint+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = r.Header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out, err
}

// decoded is an answer's body, unzipped when the emulator zipped it.
func decoded(header http.Header, body []byte) []byte {
	if !strings.EqualFold(header.Get("Content-Encoding"), "gzip") {
		return body
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	out, _ := io.ReadAll(zr)
	return out
}

// addWrites adds the write units of the written items, billed on the larger of each item before
// and after the write.
func (m *capacityMeter) addWrites(ctx context.Context, written []writtenItem, before []int) {
	if len(written) == 0 {
		return
	}
	after := m.sizes(ctx, written)
	var units float64
	for i, w := range written {
		units += w.factor * writeUnits(max(before[i], after[i]))
	}
	m.add(Usage{WriteUnits: units})
}

// wireValue is an attribute value as DynamoDB's JSON protocol spells it.
type wireValue struct {
	S, N       *string
	B          []byte
	BOOL, NULL *bool
	SS, NS     []string
	BS         [][]byte
	L          []wireValue
	M          wireItem
}

// wireItem is an item, or a key, on the wire.
type wireItem map[string]wireValue

func (v wireValue) value() types.AttributeValue {
	switch {
	case v.S != nil:
		return &types.AttributeValueMemberS{Value: *v.S}
	case v.N != nil:
		return &types.AttributeValueMemberN{Value: *v.N}
	case v.B != nil:
		return &types.AttributeValueMemberB{Value: v.B}
	case v.BOOL != nil:
		return &types.AttributeValueMemberBOOL{Value: *v.BOOL}
	case v.SS != nil:
		return &types.AttributeValueMemberSS{Value: v.SS}
	case v.NS != nil:
		return &types.AttributeValueMemberNS{Value: v.NS}
	case v.BS != nil:
		return &types.AttributeValueMemberBS{Value: v.BS}
	case v.L != nil:
		l := make([]types.AttributeValue, len(v.L))
		for i, e := range v.L {
			l[i] = e.value()
		}
		return &types.AttributeValueMemberL{Value: l}
	case v.M != nil:
		return &types.AttributeValueMemberM{Value: v.M.item()}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}

func (it wireItem) item() map[string]types.AttributeValue {
	if it == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(it))
	for k, v := range it {
		out[k] = v.value()
	}
	return out
}

func wireItems(items []wireItem) []map[string]types.AttributeValue {
	out := make([]map[string]types.AttributeValue, len(items))
	for i, it := range items {
		out[i] = it.item()
	}
	return out
}

// wireTarget is what a write names: a table and an item or a key.
type wireTarget struct {
	TableName *string
	Item, Key wireItem
}

// wireRequest holds the fields of the DynamoDB requests the meter reads.
type wireRequest struct {
	wireTarget
	ConsistentRead *bool
	RequestItems   map[string]json.RawMessage
	TransactItems  []struct{ Put, Update, Delete, ConditionCheck *wireTarget }
}

// dynamoInput turns the body of a DynamoDB call into the SDK's input for it, with the fields the
// meter reads; nil for a call it does not meter.
func dynamoInput(action string, body []byte) any {
	var in wireRequest
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	switch action {
	case "PutItem":
		return &dynamodb.PutItemInput{TableName: in.TableName, Item: in.Item.item()}
	case "UpdateItem":
		return &dynamodb.UpdateItemInput{TableName: in.TableName, Key: in.Key.item()}
	case "DeleteItem":
		return &dynamodb.DeleteItemInput{TableName: in.TableName, Key: in.Key.item()}
	case "GetItem":
		return &dynamodb.GetItemInput{TableName: in.TableName, Key: in.Key.item(), ConsistentRead: in.ConsistentRead}
	case "Query":
		return &dynamodb.QueryInput{TableName: in.TableName, ConsistentRead: in.ConsistentRead}
	case "Scan":
		return &dynamodb.ScanInput{TableName: in.TableName, ConsistentRead: in.ConsistentRead}
	case "BatchWriteItem":
		return batchWriteInput(in.RequestItems)
	case "BatchGetItem":
		return batchGetInput(in.RequestItems)
	case "TransactWriteItems":
		out := &dynamodb.TransactWriteItemsInput{}
		for _, t := range in.TransactItems {
			var item types.TransactWriteItem
			switch {
			case t.Put != nil:
				item.Put = &types.Put{TableName: t.Put.TableName, Item: t.Put.Item.item()}
			case t.Update != nil:
				item.Update = &types.Update{TableName: t.Update.TableName, Key: t.Update.Key.item()}
			case t.Delete != nil:
				item.Delete = &types.Delete{TableName: t.Delete.TableName, Key: t.Delete.Key.item()}
			case t.ConditionCheck != nil:
				item.ConditionCheck = &types.ConditionCheck{TableName: t.ConditionCheck.TableName, Key: t.ConditionCheck.Key.item()}
			}
			out.TransactItems = append(out.TransactItems, item)
		}
		return out
	case "TransactGetItems":
		return &dynamodb.TransactGetItemsInput{}
	}
	return nil
}

func batchWriteInput(tables map[string]json.RawMessage) *dynamodb.BatchWriteItemInput {
	out := &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{}}
	for table, raw := range tables {
		var reqs []struct {
			PutRequest    *struct{ Item wireItem }
			DeleteRequest *struct{ Key wireItem }
		}
		_ = json.Unmarshal(raw, &reqs)
		for _, r := range reqs {
			var w types.WriteRequest
			if r.PutRequest != nil {
				w.PutRequest = &types.PutRequest{Item: r.PutRequest.Item.item()}
			}
			if r.DeleteRequest != nil {
				w.DeleteRequest = &types.DeleteRequest{Key: r.DeleteRequest.Key.item()}
			}
			out.RequestItems[table] = append(out.RequestItems[table], w)
		}
	}
	return out
}

func batchGetInput(tables map[string]json.RawMessage) *dynamodb.BatchGetItemInput {
	out := &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{}}
	for table, raw := range tables {
		var ka struct{ ConsistentRead *bool }
		_ = json.Unmarshal(raw, &ka)
		out.RequestItems[table] = types.KeysAndAttributes{ConsistentRead: ka.ConsistentRead}
	}
	return out
}

// dynamoOutput turns the answer to a DynamoDB call into the SDK's output for it, with the items
// the meter counts.
func dynamoOutput(action string, body []byte) any {
	var out struct {
		Item      wireItem
		Items     []wireItem
		Responses json.RawMessage
	}
	if json.Unmarshal(body, &out) != nil {
		return nil
	}
	switch action {
	case "GetItem":
		return &dynamodb.GetItemOutput{Item: out.Item.item()}
	case "Query":
		return &dynamodb.QueryOutput{Items: wireItems(out.Items)}
	case "Scan":
		return &dynamodb.ScanOutput{Items: wireItems(out.Items)}
	case "BatchGetItem":
		var tables map[string][]wireItem
		_ = json.Unmarshal(out.Responses, &tables)
		res := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
		for table, items := range tables {
			res.Responses[table] = wireItems(items)
		}
		return res
	case "TransactGetItems":
		var items []struct{ Item wireItem }
		_ = json.Unmarshal(out.Responses, &items)
		res := &dynamodb.TransactGetItemsOutput{}
		for _, it := range items {
			res.Responses = append(res.Responses, types.ItemResponse{Item: it.Item.item()})
		}
		return res
	}
	return nil
}
