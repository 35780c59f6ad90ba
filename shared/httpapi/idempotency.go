package httpapi

import "net/http"

// MaxIdempotencyKey is the longest Idempotency-Key accepted, in bytes.
const MaxIdempotencyKey = 255

var errInvalidIdempotencyKey = Errorf(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters.")

// IdempotencyKey returns the request's Idempotency-Key header, or "" when the request has none.
// A key that is not 1 to 255 printable ASCII characters is refused with 400
// invalid_idempotency_key; so is an empty one, which is likelier a client's unset variable than
// a wish to go without. Every route that honours the header reads it here.
func IdempotencyKey(req Request) (string, error) {
	k, ok := lookupHeader(req, "idempotency-key")
	if !ok {
		return "", nil
	}
	if k == "" || len(k) > MaxIdempotencyKey {
		return "", errInvalidIdempotencyKey
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", errInvalidIdempotencyKey
		}
	}
	return k, nil
}
