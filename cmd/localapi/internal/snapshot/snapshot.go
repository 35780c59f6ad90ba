package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// DynamoDB is the part of the DynamoDB client a Store uses.
type DynamoDB interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// SecretsManager is the part of the Secrets Manager client a Store uses.
type SecretsManager interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// Store saves one table and one secret to Path and restores them.
type Store struct {
	DB       DynamoDB
	Secrets  SecretsManager
	Table    string
	SecretID string
	// Path is the snapshot file. It holds the key ring's material: it is written readable by
	// its owner only, in the local run's ignored state folder.
	Path string
}

// file is the snapshot's content.
type file struct {
	Version int                `json:"version"`
	SavedAt time.Time          `json:"savedAt"`
	KeyRing string             `json:"keyRing"`
	Items   []map[string]*attr `json:"items"`
}

// Save writes every item of the table (read strongly consistent) and the secret's current value
// to Path, replacing the file in one rename so that a stop in the middle leaves the last whole
// snapshot. It returns the number of items saved.
func (s *Store) Save(ctx context.Context) (int, error) {
	f := file{Version: 1, SavedAt: time.Now().UTC()}
	sec, err := s.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.SecretID)})
	if err != nil {
		return 0, fmt.Errorf("save: read the key ring: %w", err)
	}
	f.KeyRing = aws.ToString(sec.SecretString)
	p := dynamodb.NewScanPaginator(s.DB, &dynamodb.ScanInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("save: scan %s: %w", s.Table, err)
		}
		for _, item := range page.Items {
			a, err := fromItem(item)
			if err != nil {
				return 0, fmt.Errorf("save: %w", err)
			}
			f.Items = append(f.Items, a)
		}
	}
	return len(f.Items), writeFile(s.Path, f)
}

func writeFile(path string, f file) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save: %w", err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// Restore puts the saved key ring and items back into the table and the secret, which must
// exist. It returns false, and changes nothing, when there is no snapshot at Path.
func (s *Store) Restore(ctx context.Context) (restored bool, items int, err error) {
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("restore: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return false, 0, fmt.Errorf("restore %s: %w", s.Path, err)
	}
	if f.Version != 1 || f.KeyRing == "" {
		return false, 0, fmt.Errorf("restore %s: not a snapshot of version 1 with a key ring", s.Path)
	}
	_, err = s.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(s.SecretID), SecretString: aws.String(f.KeyRing),
	})
	if err != nil {
		return false, 0, fmt.Errorf("restore the key ring: %w", err)
	}
	if err := s.writeItems(ctx, f.Items); err != nil {
		return false, 0, err
	}
	return true, len(f.Items), nil
}

// writeItems puts items in batches of 25, DynamoDB's limit, sending back what a batch leaves
// unprocessed.
func (s *Store) writeItems(ctx context.Context, items []map[string]*attr) error {
	for len(items) > 0 {
		n := min(25, len(items))
		var reqs []types.WriteRequest
		for _, a := range items[:n] {
			item, err := toItem(a)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		items = items[n:]
		for attempt := 0; len(reqs) > 0; attempt++ {
			if attempt == 10 {
				return fmt.Errorf("restore: %d items left unprocessed", len(reqs))
			}
			out, err := s.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{s.Table: reqs},
			})
			if err != nil {
				return fmt.Errorf("restore: write items: %w", err)
			}
			reqs = out.UnprocessedItems[s.Table]
		}
	}
	return nil
}
