package ppro

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"example.com/storefront/payments"
)

// A chargeback event names the disputed charge; PPRO's API has nothing to
// fetch, so a signed event's words become the dispute (the amount as PPRO
// states it, the state from the event type), and an unsigned one's are
// dropped, since anyone could have sent it.
func TestParseWebhookReadsChargebacks(t *testing.T) {
	const charge = "charge_mXC6KnPKOY6MuyBf7dwaY"
	for _, tc := range []struct {
		name, body string
		want       *payments.Dispute
	}{
		{"CHARGEBACK_SUCCEEDED, as PPRO's OpenAPI documents it",
			`{"specversion":"1.0.2","id":"cb1","type":"CHARGEBACK_SUCCEEDED","subject":"` + charge + `",
			"data":{"paymentChargeId":"` + charge + `","type":"CHARGEBACK_SUCCEEDED","merchantId":"m","amount":{"value":1204,"currency":"usd"}}}`,
			&payments.Dispute{Ref: "chargeback_" + charge, ChargeRef: charge, State: payments.DisputeChargedBack,
				ProviderStatus: "CHARGEBACK_SUCCEEDED", Amount: payments.Money{Amount: 1204, Currency: "USD"}}},
		{"DISPUTE_ACTION_REQUIRED, as PPRO's developer hub shows it",
			`{"id":"d1","type":"DISPUTE_ACTION_REQUIRED","data":{"disputeId":"dispute_1","paymentChargeId":"` + charge + `"}}`,
			&payments.Dispute{Ref: "dispute_1", ChargeRef: charge, State: payments.DisputeNeedsResponse, ProviderStatus: "DISPUTE_ACTION_REQUIRED"}},
		{"DISPUTE_WON",
			`{"id":"d2","type":"DISPUTE_WON","data":{"disputeId":"dispute_1","paymentChargeId":"` + charge + `"}}`,
			&payments.Dispute{Ref: "dispute_1", ChargeRef: charge, State: payments.DisputeWon, ProviderStatus: "DISPUTE_WON"}},
	} {
		req := func(signed bool) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/ppro", strings.NewReader(tc.body))
			if signed {
				r.Header.Set(SignatureHeader, Sign([]byte(tc.body), "s3cret", time.Now()))
			}
			return r
		}
		ev, err := NewProvider(nil, payments.ModeSandbox, "s3cret").ParseWebhook(req(true))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ev.ChargeRef != charge || ev.DisputeRef != tc.want.Ref || ev.Dispute == nil || *ev.Dispute != *tc.want {
			t.Errorf("%s: %+v %+v, want %+v", tc.name, ev, ev.Dispute, tc.want)
		}
		ev, err = NewProvider(nil, payments.ModeTest, "").ParseWebhook(req(false))
		if err != nil || ev.DisputeRef != tc.want.Ref || ev.Dispute != nil {
			t.Errorf("%s unsigned: %+v %+v, %v; want the ids only", tc.name, ev, ev.Dispute, err)
		}
	}
	if _, err := NewProvider(nil, payments.ModeTest, "").Disputes(t.Context(), charge); !errors.Is(err, payments.ErrNoDisputeAPI) {
		t.Errorf("Disputes: %v, want ErrNoDisputeAPI", err)
	}
}
