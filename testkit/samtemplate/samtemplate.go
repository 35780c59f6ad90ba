package samtemplate

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	cfnddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Logical ids of the resources the project's code depends on.
const (
	TableResource  = "TokensTable"
	SecretResource = "KeyRingSecret"
	// EventsQueueResource is the queue of events for the webhook sender, and
	// EventsDeadLetterQueueResource where the events no attempt could deliver end.
	EventsQueueResource           = "EventsQueue"
	EventsDeadLetterQueueResource = "EventsDeadLetterQueue"
)

// Template is a parsed template.yaml: typed (goformation's, where a Ref to a resource resolves to
// nothing), raw (Raw), and resolved as SAM deploys it (App).
type Template struct {
	*cloudformation.Template
	raw  map[string]any
	path string // absolute
	data []byte // as read
}

// Open parses the template at path (YAML, or JSON when it ends in .json).
func Open(path string) (*Template, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open template: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open template %s: %w", path, err)
	}
	var resolved []byte
	if strings.HasSuffix(path, ".json") {
		resolved, err = intrinsics.ProcessJSON(data, nil)
	} else {
		resolved, err = intrinsics.ProcessYAML(data, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("open template %s: %w", path, err)
	}
	if resolved, err = TypedJSON(resolved); err != nil {
		return nil, fmt.Errorf("open template %s: %w", path, err)
	}
	t, err := goformation.ParseJSONWithOptions(resolved, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("open template %s: %w", path, err)
	}
	keep := &intrinsics.ProcessorOptions{NoProcess: true}
	var js []byte
	if strings.HasSuffix(path, ".json") {
		js, err = intrinsics.ProcessJSON(data, keep)
	} else {
		js, err = intrinsics.ProcessYAML(data, keep)
	}
	if err != nil {
		return nil, fmt.Errorf("open template %s: %w", path, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, fmt.Errorf("open template %s: %w", path, err)
	}
	return &Template{Template: t, raw: raw, path: path, data: data}, nil
}

// untyped lists, by resource type, the properties that goformation's types lack: their strict
// decoding refuses a template that sets them. They are read from Raw.
var untyped = map[string][]string{
	"AWS::Serverless::Function": {"LoggingConfig"},
	"AWS::Serverless::HttpApi":  {"AccessLogSettings"},
}

// TypedJSON returns a template (JSON) without the properties goformation has no field for, so
// that it decodes into goformation's types; everything else is kept as it was.
func TypedJSON(doc []byte) ([]byte, error) {
	var t map[string]any
	if err := json.Unmarshal(doc, &t); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	for _, r := range obj(t["Resources"]) {
		typ, _ := obj(r)["Type"].(string)
		for _, p := range untyped[typ] {
			delete(obj(obj(r)["Properties"]), p)
		}
	}
	return json.Marshal(t)
}

// Raw returns the template as read, with intrinsic functions kept as written ({"Ref": …},
// {"Fn::GetAtt": …}); the typed Template resolves a Ref to a resource to nothing.
func (t *Template) Raw() map[string]any { return t.raw }

// FindRoot returns the nearest folder at or above the working directory that holds go.mod and
// template.yaml: the repository root, wherever a test runs from.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "template.yaml")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no folder with go.mod and template.yaml above the working directory")
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// CreateTableInput returns the CreateTable request for the template's table, named name: keys,
// attribute definitions, indexes and billing mode as deployed.
func (t *Template) CreateTableInput(name string) (*dynamodb.CreateTableInput, error) {
	tbl, err := t.GetDynamoDBTableWithName(TableResource)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(name)}
	for _, a := range tbl.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	in.KeySchema = keySchema(tbl.KeySchema)
	for _, g := range tbl.GlobalSecondaryIndexes {
		gsi := ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}
		if g.Projection != nil && g.Projection.ProjectionType != nil {
			gsi.Projection.ProjectionType = ddbtypes.ProjectionType(*g.Projection.ProjectionType)
			gsi.Projection.NonKeyAttributes = g.Projection.NonKeyAttributes
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	in.BillingMode = ddbtypes.BillingModePayPerRequest
	if tbl.BillingMode != nil {
		in.BillingMode = ddbtypes.BillingMode(*tbl.BillingMode)
	}
	return in, nil
}

// TTLAttribute returns the table's time-to-live attribute, or "" when it has none.
func (t *Template) TTLAttribute() (string, error) {
	tbl, err := t.GetDynamoDBTableWithName(TableResource)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	if tbl.TimeToLiveSpecification == nil || !tbl.TimeToLiveSpecification.Enabled {
		return "", nil
	}
	return aws.ToString(tbl.TimeToLiveSpecification.AttributeName), nil
}

func keySchema(in []cfnddb.Table_KeySchema) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, 0, len(in))
	for _, k := range in {
		out = append(out, ddbtypes.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       ddbtypes.KeyType(k.KeyType),
		})
	}
	return out
}

// GenerateSecretString produces a secret value the way the template's GenerateSecretString
// would: its SecretStringTemplate with GenerateStringKey set to PasswordLength random
// characters of the allowed classes.
func (t *Template) GenerateSecretString() (string, error) {
	s, err := t.GetSecretsManagerSecretWithName(SecretResource)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	g := s.GenerateSecretString
	if g == nil || g.SecretStringTemplate == nil || g.GenerateStringKey == nil {
		return "", errors.New("template: the key ring secret is not generated")
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(*g.SecretStringTemplate), &doc); err != nil {
		return "", fmt.Errorf("template: SecretStringTemplate: %w", err)
	}
	length := 32
	if g.PasswordLength != nil {
		length = *g.PasswordLength
	}
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	if g.ExcludePunctuation == nil || !*g.ExcludePunctuation {
		alphabet += "!#$%&()*+,-./:;<=>?@[]^_{|}~"
	}
	doc[*g.GenerateStringKey] = randomString(alphabet, length)
	out, err := json.Marshal(doc)
	return string(out), err
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		j, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = alphabet[j.Int64()]
	}
	return string(b)
}
