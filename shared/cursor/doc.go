// Package cursor turns a page's last DynamoDB key into an opaque paging cursor and back.
//
// A cursor is the key sealed with AES-256-GCM under the key ring's cursor key, with the query's
// scope (route, environment, caller, filters) as additional data: the client cannot read it, and
// a cursor edited by hand, or replayed by another caller or against another query, does not
// open. Cursors sealed before a key ring rotation still open.
package cursor
