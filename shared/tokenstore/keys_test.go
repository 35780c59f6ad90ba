package tokenstore

import (
	"encoding/base64"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/policy"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table of item kinds in docs/storage.md is ItemKinds, row for row.
func TestStorageDocListsItemKinds(t *testing.T) {
	doc, err := os.ReadFile("../../docs/storage.md")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	inTable := false
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| item | kind |") {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(line, "| ---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.Trim(strings.TrimSpace(c), "`"))
		}
		got = append(got, cells)
	}
	var want [][]string
	for _, k := range ItemKinds {
		want = append(want, []string{k.About, k.Kind, k.PK, k.SK, k.GSI1PK, k.GSI1SK, k.GSI2PK, k.GSI2SK})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("docs/storage.md item table:\ngot  %q\nwant %q", got, want)
	}
}

// Every item the store writes has the key shapes and kind ItemKinds gives it.
func TestItemsHaveTheirListedKeys(t *testing.T) {
	mac := []byte{1, 2, 3}
	placeholders := strings.NewReplacer("<SHA-256 of the API key>", base64.RawURLEncoding.EncodeToString(mac))
	tok := Token{ID: "<id>", EnvironmentID: "<environment>", UserID: "<user>", Status: "<status>", KeyHash: mac}
	s := &Store{now: time.Now}
	audit := s.newAuditItem(Token{ID: "<token id>", EnvironmentID: "<environment>"}, ActionCreate, Actor{}, nil)
	idem := newIdemItem(tok, Idempotency{Key: "k"}, time.Now())
	byUser, bySource := deliveryItems(Delivery{ID: "<id>", EnvironmentID: "<environment>", UserID: "<user>", Source: "<source>"}, time.Now())
	ti, ki, pki := newTokenItem(tok), newKeyItem(tok), previousKeyItem(tok, time.Now())
	sub := newSubscriptionItem(Subscription{ID: "<id>", TokenID: "<token id>", EnvironmentID: "<environment>", UserID: "<user>", Event: "<event>"})
	envSub := newSubscriptionItem(Subscription{ID: "<id>", EnvironmentID: "<environment>", Event: "<event>", Environment: true})
	att := newAttemptItem("<environment>", "<subscription id>", Attempt{ID: "<attempt id>", At: time.Now()})
	expires := time.Date(2026, 12, 24, 10, 0, 0, 0, time.UTC)
	exp := newExpiryItem(Token{ID: "<token id>", EnvironmentID: "<environment>", ExpiresAt: &expires})
	if envSub.GSI1PK != "SUBEVT#<environment>#<event>" || exp.PK != "EXPIRES#2026-12-24" {
		t.Errorf("got an Admin token's subscription under %q and an expiry under %q", envSub.GSI1PK, exp.PK)
	}
	use := usageKeys("<environment>", "<token id>", expires)
	win, month := WindowCounter("<environment>", "<token id>", 60, expires), MonthCounter("<environment>", "<token id>", expires)
	hourShape := strings.NewReplacer("2026-12-24T10", "<hour>")
	pol, ue := newPolicyItem("<environment>", policy.Default(), time.Now(), Actor{}), userEnvironmentItem("<user>", "<environment>")
	written := map[string][7]string{
		kindToken:             {ti.Kind, ti.PK, ti.SK, ti.GSI1PK, ti.GSI1SK, ti.GSI2PK, ti.GSI2SK},
		kindKey:               {ki.Kind, ki.PK, ki.SK},
		kindPreviousKey:       {pki.Kind, pki.PK, pki.SK},
		kindCount:             {kindCount, envPK("<environment>"), countSK("<user>")},
		kindAudit:             {audit.Kind, audit.PK, "<audit id>"},
		kindIdem:              {idem.Kind, idem.PK, sumShape(idem.SK, "IDEM#<user>#")},
		kindDelivery:          {byUser.Kind, byUser.PK, byUser.SK, byUser.GSI1PK, byUser.GSI1SK},
		kindDeliverySource:    {bySource.Kind, bySource.PK, bySource.SK, bySource.GSI1PK, bySource.GSI1SK},
		kindDeliveryIdem:      {kindDeliveryIdem, deliveryIdemPK("<environment>", "<user>", "<source>", "<SHA-256 of the key>"), deliveryIdemSK},
		kindPolicy:            {pol.Kind, pol.PK, pol.SK},
		kindUserEnvironment:   {ue.Kind, ue.PK, ue.SK},
		kindSubscription:      {sub.Kind, sub.PK, sub.SK, sub.GSI1PK, sub.GSI1SK},
		kindSubscriptionCount: {kindSubscriptionCount, subscriptionCountKeyString("<environment>", "<token id>")[0], subscriptionCountKeyString("<environment>", "<token id>")[1]},
		kindAttempt:           {att.Kind, att.PK, att.SK},
		kindExpiry:            {exp.Kind, strings.Replace(exp.PK, "2026-12-24", "<day>", 1), exp.SK},
		kindUsage:             {kindUsage, use[0], hourShape.Replace(use[1]), use[2], hourShape.Replace(use[3])},
		kindMeterWindow:       {win.kind(), meterPK(win.EnvironmentID, win.TokenID), strings.Replace(win.sk, "60#2026-12-24T10:00:00Z", "<seconds>#<start>", 1)},
		kindMeterMonth:        {month.kind(), meterPK(month.EnvironmentID, month.TokenID), strings.Replace(month.sk, "2026-12", "<yyyy-mm>", 1)},
	}
	if len(written) != len(ItemKinds) {
		t.Fatalf("got %d kinds written, want %d listed", len(written), len(ItemKinds))
	}
	for _, k := range ItemKinds {
		w, ok := written[k.Kind]
		if !ok {
			t.Errorf("kind %q is listed but never written", k.Kind)
			continue
		}
		want := [7]string{k.Kind, placeholders.Replace(k.PK), k.SK, k.GSI1PK, k.GSI1SK, k.GSI2PK, k.GSI2SK}
		if w != want {
			t.Errorf("kind %s: got %q, want %q", k.Kind, w, want)
		}
	}
	if audit.SK != audit.ID {
		t.Errorf("audit sk %q is not its id %q", audit.SK, audit.ID)
	}
}

// sumShape writes a key that ends in a hex SHA-256 after prefix as its documented shape.
func sumShape(key, prefix string) string {
	if strings.HasPrefix(key, prefix) && len(key) == len(prefix)+64 {
		return prefix + "<SHA-256 of the key>"
	}
	return key
}

// subscriptionCountKeyString is subscriptionCountKey's pk and sk as strings.
func subscriptionCountKeyString(env, tokenID string) [2]string {
	k := subscriptionCountKey(env, tokenID)
	return [2]string{k["pk"].(*types.AttributeValueMemberS).Value, k["sk"].(*types.AttributeValueMemberS).Value}
}
