package emulatortest

import (
	"context"
	"maps"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

type callerKey struct{}

// WithCaller marks the AWS calls made with ctx as made by caller, for Permissions.
func WithCaller(ctx context.Context, caller string) context.Context {
	return context.WithValue(ctx, callerKey{}, caller)
}

// Permissions records, by caller (see WithCaller), the IAM permissions the AWS calls made
// through a configuration need, named as the template's policies name them. A call needs its
// operation's action ("dynamodb:GetItem"), except TransactWriteItems: IAM checks each of its
// items as the operation it stands for (PutItem, UpdateItem, DeleteItem, ConditionCheckItem),
// and has no action of its own. Every table is the template's table, every secret its key ring
// secret. Calls made with an unmarked context are not recorded.
type Permissions struct {
	mu   sync.Mutex
	used map[string]map[samtemplate.Grant]bool
}

// Option installs the recorder on a configuration; pass it to New.
func (p *Permissions) Option() func(*aws.Config) {
	return func(cfg *aws.Config) {
		cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordPermissions",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if caller, ok := ctx.Value(callerKey{}).(string); ok {
						p.add(caller, needs(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), in.Parameters))
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}
}

func (p *Permissions) add(caller string, grants []samtemplate.Grant) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used == nil {
		p.used = map[string]map[samtemplate.Grant]bool{}
	}
	if p.used[caller] == nil {
		p.used[caller] = map[samtemplate.Grant]bool{}
	}
	for _, g := range grants {
		p.used[caller][g] = true
	}
}

// Used returns what each caller's calls needed so far.
func (p *Permissions) Used() map[string]map[samtemplate.Grant]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]map[samtemplate.Grant]bool, len(p.used))
	for caller, grants := range p.used {
		out[caller] = maps.Clone(grants)
	}
	return out
}

// needs returns the permissions one call needs.
func needs(service, op string, params any) []samtemplate.Grant {
	switch service {
	case "DynamoDB":
		table := samtemplate.TableResource
		switch in := params.(type) {
		case *dynamodb.TransactWriteItemsInput:
			var out []samtemplate.Grant
			for _, it := range in.TransactItems {
				switch {
				case it.Put != nil:
					out = append(out, samtemplate.Grant{Action: "dynamodb:PutItem", Resource: table})
				case it.Update != nil:
					out = append(out, samtemplate.Grant{Action: "dynamodb:UpdateItem", Resource: table})
				case it.Delete != nil:
					out = append(out, samtemplate.Grant{Action: "dynamodb:DeleteItem", Resource: table})
				case it.ConditionCheck != nil:
					out = append(out, samtemplate.Grant{Action: "dynamodb:ConditionCheckItem", Resource: table})
				}
			}
			return out
		case *dynamodb.QueryInput:
			if in.IndexName != nil {
				table += "/index/" + *in.IndexName
			}
		}
		return []samtemplate.Grant{{Action: "dynamodb:" + op, Resource: table}}
	case "Secrets Manager":
		return []samtemplate.Grant{{Action: "secretsmanager:" + op, Resource: samtemplate.SecretResource}}
	case "SQS":
		// Every queue a function calls is the events queue; a batch send needs SendMessage.
		if op == "SendMessageBatch" {
			op = "SendMessage"
		}
		return []samtemplate.Grant{{Action: "sqs:" + op, Resource: samtemplate.EventsQueueResource}}
	}
	return []samtemplate.Grant{{Action: service + ":" + op, Resource: "?"}}
}
