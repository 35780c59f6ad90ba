package handlers_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/apitokens/apitokens/shared/leakreport"
)

// FuzzReportLeaks posts any body with any signature headers to the secret scanning route.
// Unless the body is signed by GitHub's published key, the answer is 401 and no table item is
// read or written; signed, the answer is 200 with one label per item (a label true_positive
// only for the one key of ours the table holds), or a 4xx that writes nothing.
func FuzzReportLeaks(f *testing.F) {
	a := newAPI(f, 50)
	key := a.create(ann, `{"name":"fuzzed"}`).str("key")
	s := scanner(f)
	const unsigned, signed, signedByStranger = 0, 1, 2
	f.Add(reportOf("cbk_not-a-key"), s.id, "", uint8(signed))
	f.Add(reportOf(key), s.id, "", uint8(signedByStranger))
	f.Add(`[{"token":"x","type":1}]`, s.id, "", uint8(signed))
	f.Add(`[]`, s.id, "MEUCIQ==", uint8(unsigned))
	f.Add(`[{"token":"x"}] `, "", "", uint8(unsigned))
	f.Fuzz(func(t *testing.T, body, keyID, sig string, mode uint8) {
		var err error
		switch mode % 3 {
		case signed:
			keyID = s.id
			sig, err = leakreport.Sign(s.signer, []byte(body))
		case signedByStranger:
			sig, err = leakreport.Sign(s.stranger, []byte(body))
		}
		if err != nil {
			t.Fatal(err)
		}
		req := fixture(t)
		req.RequestContext.Authorizer = nil
		const route = "POST /v1/secret-scanning/github"
		req.RouteKey, req.RequestContext.RouteKey = route, route
		req.RawPath, req.RequestContext.HTTP.Path, req.RequestContext.HTTP.Method = "/v1/secret-scanning/github", "/v1/secret-scanning/github", "POST"
		req.PathParameters, req.QueryStringParameters, req.RawQueryString, req.Body = nil, nil, "", body
		delete(req.Headers, "authorization")
		req.Headers["github-public-key-identifier"], req.Headers["github-public-key-signature"] = keyID, sig
		a.calls.Reset()
		resp, err := a.routes[route](context.Background(), req)
		if err != nil {
			t.Fatalf("got a Go error %v, want an HTTP answer", err)
		}
		touched := a.calls.Count("DynamoDB.GetItem") + a.calls.Count("DynamoDB.TransactWriteItems")
		if mode%3 != signed || len(body) > leakreport.MaxBody {
			if resp.StatusCode != 401 && resp.StatusCode != 413 || touched != 0 {
				t.Fatalf("a report not signed by GitHub: got %d after %d table calls, want 401 (or 413) after none", resp.StatusCode, touched)
			}
			return
		}
		switch resp.StatusCode {
		case 200:
		case 400, 413, 415:
			if touched != 0 {
				t.Fatalf("a refused report made %d table calls", touched)
			}
			return
		default:
			t.Fatalf("a signed report: got %d %s", resp.StatusCode, resp.Body)
		}
		items, err := leakreport.Parse([]byte(body))
		if err != nil {
			t.Fatalf("answered 200 to a report Parse refuses: %v", err)
		}
		var feedback []leakreport.Feedback
		if err := json.Unmarshal([]byte(resp.Body), &feedback); err != nil || len(feedback) != len(items) {
			t.Fatalf("feedback %q: want one entry per item (%d)", resp.Body, len(items))
		}
		for i, fb := range feedback {
			want := leakreport.FalsePositive
			if items[i].Token == key {
				want = leakreport.TruePositive
			}
			if fb.TokenRaw != items[i].Token || fb.Label != want {
				t.Fatalf("feedback %d = %+v, want %s for its token", i, fb, want)
			}
		}
	})
}
