// Package tokenstore is the DynamoDB table model: API tokens, the lookup items the key
// authorizer reads, the per-user counts that enforce the token limit, the audit records, and the
// idempotency records that make a repeated create store nothing.
//
// One table holds everything (single-table design); the template defines it once. Items:
//
//	token        pk ENV#<env>                sk TOKEN#<id>      gsi1pk OWNER#<env>#<user>  gsi1sk TOKEN#<id>
//	                                                            gsi2pk STATUS#<env>#<status> gsi2sk TOKEN#<id>
//	key lookup   pk KEY#<SHA-256 of the key> sk KEY
//	count        pk ENV#<env>                sk COUNT#<user>
//	audit        pk AUDIT#<env>#<token id>   sk <audit id>      ttl: 400 days
//	idempotency  pk ENV#<env>                sk IDEM#<user>#<SHA-256 of the Idempotency-Key>   ttl: 24 hours
//
// A token's id is only looked up inside the caller's environment, so another environment's
// token cannot be read even by id. The key lookup item repeats what the authorizer needs (owner,
// type, name, status, expiry), so a check costs one strongly consistent GetItem. Every change is
// one TransactWriteItems that keeps the token, its lookup item, the count and an audit record in
// step, guarded by conditions so that racing changes cannot resurrect or double-count a token;
// a create with an Idempotency-Key puts its idempotency record in the same transaction.
// Reads are GetItem and Query only.
package tokenstore
