package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// testStore is the table model over the local run's own table, for a test to put there what no
// route writes yet (usage, as the metered routes will add it).
func (s *Server) testStore(t *testing.T) *tokenstore.Store {
	t.Helper()
	cfg, err := s.emu.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tokenstore.New(dynamodb.NewFromConfig(cfg), s.res.TableName, time.Now)
}
