// Package inbox is the table model of the webhook inbox: the deliveries integrations post to
// /v1/hooks/{source}, kept 30 days by the table's TTL, and the idempotency records that make a
// repeated delivery with the same Idempotency-Key store nothing new.
//
//	delivery     pk HOOKS#<env>#<user>   sk EVT#<id>   gsi1pk HOOKS#<env>  gsi1sk EVT#<id>
//	idempotency  pk IDEM#<env>#<user>#<source>#<SHA-256 of the Idempotency-Key>   sk IDEM
//	user         pk ENV#<env>            sk COUNT#<user>   (the token count: a user the service knows)
package inbox
