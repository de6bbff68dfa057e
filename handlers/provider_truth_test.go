package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/payments/stripeprovider"
	"example.com/storefront/service"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// pproEvent is a PPRO webhook (a CloudEvents envelope) about an agreement,
// or about a charge when chargeID is set.
func pproEvent(id, typ, agreementID, chargeID string) []byte {
	data := map[string]any{"type": typ, "merchantId": pproMerchant, "paymentMethod": "AMAZON_PAY"}
	subject := agreementID
	if agreementID != "" {
		data["paymentAgreementId"] = agreementID
	}
	if chargeID != "" {
		data["paymentChargeId"] = chargeID
		subject = chargeID
	}
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0.2", "source": "https://www.ppro.com", "datacontenttype": "application/json",
		"id": id, "type": typ, "subject": subject, "time": time.Now().UTC().Format(time.RFC3339Nano), "data": data,
	})
	return b
}

// postPPRO delivers a hand-made PPRO webhook with the given PPRO-Signature
// ("" for none).
func (e *env) postPPRO(body []byte, signature string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/webhooks/ppro", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(ppro.SignatureHeader, signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signedPPRO signs body as the sandbox does, now.
func signedPPRO(body []byte) string { return ppro.Sign(body, pproWebhookSecret, time.Now()) }

// approvedPPRO sets up a PPRO agreement that the shopper approved and never
// came back from: ACTIVE at PPRO, pending here until something tells us.
func (e *env) approvedPPRO(b *pagetest.Browser, payNow bool) store.Mandate {
	e.t.Helper()
	approval := e.pproApproval(b, e.pproForm(b, payNow))
	m := e.pproMandate(approval)
	e.decide(b, approval, "approve").Expect(http.StatusSeeOther) // and the tab is closed
	return m
}

// waitEvent polls until the stored event is no longer pending.
func (e *env) waitEvent(provider, eventID string) (status, outcome string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if e.count(`SELECT count(*) FROM webhook_events WHERE provider = ? AND event_id = ? AND status != 'pending'`, provider, eventID) == 1 {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("webhook event %s/%s still pending after 10 s", provider, eventID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	row := e.rows(`SELECT status, outcome FROM webhook_events WHERE provider = ? AND event_id = ?`, provider, eventID)
	return row[0][0], row[0][1]
}

// waitCharged polls until the mandate has a succeeded payment: its first
// period is paid, so billing leaves it alone for a month and cannot be
// the one to find a revocation (after a refused charge) before the webhook.
func (e *env) waitCharged(mandateID string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.count(`SELECT count(*) FROM charges WHERE mandate_id = ? AND status = 'succeeded'`, mandateID) == 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("mandate %s has no succeeded payment after 10 s", mandateID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rows runs a query on the app's database file and returns every row as text.
func (e *env) rows(query string, args ...any) [][]string {
	e.t.Helper()
	db := e.openDB()
	defer db.Close()
	rs, err := db.Query(query, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out [][]string
	for rs.Next() {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		if err := rs.Scan(vals...); err != nil {
			e.t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if x := *(v.(*any)); x != nil {
				row[i] = fmt.Sprint(x)
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// A revocation that starts outside the app (the shopper in their Amazon
// account, Amazon Pay itself), played from the sandbox's index page,
// reaches an active mandate through PPRO's webhook alone: the shopper never
// comes back to a page of ours.
func TestPPRORevocationFromTheSandboxReachesTheMandate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		by   string
		want payments.Revoker
		code string
	}{
		{"consumer", payments.RevokedByShopper, "REVOKED_BY_CONSUMER"},
		{"provider", payments.RevokedByProvider, "REVOKED_BY_PROVIDER"},
	} {
		t.Run(tc.by, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withWebhooks)
			b := pagetest.NewBrowser(t)
			m := e.approvedPPRO(b, false)
			e.waitStatus(m.ID, mandate.Active) // by the webhook
			e.waitCharged(m.ID)

			index := b.Get(e.URL + "/sandbox/").Expect(http.StatusOK)
			if got, _ := index.TestID("ppro-status-" + m.ProviderRef); got != "ACTIVE" {
				t.Fatalf("the index shows the agreement as %q", got)
			}
			back := b.Do(index.Submit("by", tc.by, nil)).Expect(http.StatusSeeOther)
			if got, _ := b.Follow(back).Expect(http.StatusOK).TestID("ppro-status-" + m.ProviderRef); got != tc.code {
				t.Errorf("after the button the index shows %q", got)
			}

			got := e.waitStatus(m.ID, mandate.Revoked)
			if got.RevokedBy != tc.want || got.FailureCode != tc.code {
				t.Errorf("revoked by %q (code %q), want %q (%s)", got.RevokedBy, got.FailureCode, tc.want, tc.code)
			}
			h, _ := e.Store.History(context.Background(), m.ID)
			if len(h) != 3 {
				t.Fatalf("history = %+v, want created, activated, revoked", h)
			}
			last := h[2]
			if last.From != mandate.Active || last.To != mandate.Revoked || last.Source != mandate.SourceWebhook ||
				last.ProviderStatus != "agreement "+tc.code || !strings.Contains(last.Detail, "revoked by "+string(tc.want)) {
				t.Errorf("revocation row = %+v", last)
			}
			if h[1].Source != mandate.SourceWebhook {
				t.Errorf("activated from %s, want the webhook (no return page was visited)", h[1].Source)
			}
		})
	}
}

// Stripe's side: the merchant detaches the payment method in the
// Dashboard, or Amazon revokes the mandate; payment_method.detached and
// mandate.updated reach the mandate without a page of ours.
func TestStripeRevocationFromTheSandboxReachesTheMandate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		button string
		want   payments.Revoker
		code   string
	}{
		{"detach", payments.RevokedByMerchant, stripeprovider.CodePaymentMethodGone},
		{"amazon-revoke", payments.RevokedByProvider, stripeprovider.CodeMandateInactive},
	} {
		t.Run(tc.button, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withWebhooks)
			b := pagetest.NewBrowser(t)
			checkout := e.checkout(b, e.validForm(b))
			m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
			e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther) // never followed
			active := e.waitStatus(m.ID, mandate.Active)
			// What a revocation is found by, stored at activation.
			if !strings.HasPrefix(active.PaymentMethodID, "pm_") || !strings.HasPrefix(active.SetupIntentRef, "seti_") ||
				!strings.HasPrefix(active.ProviderMandateRef, "mandate_") || !strings.HasPrefix(active.ProviderCustomerRef, "cus_") {
				t.Fatalf("active mandate without its Stripe objects: %+v", active)
			}
			if _, err := e.Worker.Pass(context.Background()); err != nil { // bills the first period now
				t.Fatal(err)
			}
			e.waitCharged(m.ID)

			index := b.Get(e.URL + "/sandbox/").Expect(http.StatusOK)
			action := "/stripe/payment-methods/" + active.PaymentMethodID + "/" + tc.button
			b.Do(index.Submit("", action, nil)).Expect(http.StatusSeeOther)

			got := e.waitStatus(m.ID, mandate.Revoked)
			if got.RevokedBy != tc.want || got.FailureCode != tc.code {
				t.Errorf("revoked by %q (code %q), want %q (%s)", got.RevokedBy, got.FailureCode, tc.want, tc.code)
			}
			h, _ := e.Store.History(context.Background(), m.ID)
			if len(h) != 3 || h[2].To != mandate.Revoked || h[2].Source != mandate.SourceWebhook ||
				!strings.Contains(h[2].Detail, "revoked by "+string(tc.want)) {
				t.Errorf("history = %+v", h)
			}
		})
	}
}

// With a signing secret (always, in sandbox mode), a PPRO event that is
// unsigned, stale, from the future or wrongly signed is refused before it
// is stored, and changes nothing; the same event signed is taken.
func TestPPROWebhookSignatures(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // the sandbox sends nothing: every delivery here is hand-made
	b := pagetest.NewBrowser(t)
	m := e.approvedPPRO(b, false)
	body := pproEvent("evt_sig", "PAYMENT_AGREEMENT_ACTIVE", m.ProviderRef, "")
	now := time.Now()
	for name, sig := range map[string]string{
		"unsigned":        "",
		"stale":           ppro.Sign(body, pproWebhookSecret, now.Add(-6*time.Minute)),
		"from the future": ppro.Sign(body, pproWebhookSecret, now.Add(6*time.Minute)),
		"wrong secret":    ppro.Sign(body, "ppro_whsec_someone_else", now),
		"another body":    ppro.Sign(pproEvent("evt_other", "PAYMENT_AGREEMENT_ACTIVE", m.ProviderRef, ""), pproWebhookSecret, now),
		"garbage":         "t=" + fmt.Sprint(now.Unix()) + ",s=zz",
	} {
		if code, _ := e.postPPRO(body, sig); code < 400 || code > 499 {
			t.Errorf("%s: %d, want 4xx", name, code)
		}
	}
	if n := e.count(`SELECT count(*) FROM webhook_events`); n != 0 {
		t.Errorf("%d refused events were stored", n)
	}
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status != mandate.Pending {
		t.Fatalf("a refused event moved the mandate to %s", got.Status)
	}

	// Signed correctly, within the tolerance: stored, answered 202, and
	// processed by the worker.
	if code, body := e.postPPRO(body, ppro.Sign(body, pproWebhookSecret, now.Add(-4*time.Minute))); code != http.StatusAccepted {
		t.Fatalf("signed event: %d %q", code, body)
	}
	e.waitStatus(m.ID, mandate.Active)
}

// Stripe's signatures: one timestamped more than 5 minutes ahead is refused
// (stripe-go only refuses old ones); one a minute ahead is clock skew.
func TestStripeSignatureFromTheFuture(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	csID := sessionID(checkout)
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)
	e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)
	payload := fmt.Sprintf(`{"id":"evt_future","object":"event","type":"checkout.session.completed","request":null,`+
		`"data":{"object":{"id":%q,"object":"checkout.session"}}}`, csID)

	if code, _ := e.postStripeAt(payload, time.Now().Add(6*time.Minute)); code != http.StatusBadRequest {
		t.Errorf("signed 6 minutes ahead: %d, want 400", code)
	}
	if n := e.count(`SELECT count(*) FROM webhook_events`); n != 0 {
		t.Errorf("%d refused events were stored", n)
	}
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status != mandate.Pending {
		t.Fatalf("a refused event moved the mandate to %s", got.Status)
	}
	if code, body := e.postStripeAt(payload, time.Now().Add(time.Minute)); code != http.StatusOK {
		t.Fatalf("signed a minute ahead: %d %q", code, body)
	}
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status != mandate.Active {
		t.Errorf("after the event: %s", got.Status)
	}
}

// postStripeAt delivers a Stripe event signed with the right secret at t.
func (e *env) postStripeAt(payload string, t time.Time) (int, string) {
	e.t.Helper()
	signed := stripeSign(payload, webhookSecret, t)
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/webhooks/stripe", strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signed)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dbSizes are the sizes of the app's database file and of its WAL and
// shared-memory files (0 for one that does not exist).
func (e *env) dbSizes() [3]int64 {
	e.t.Helper()
	var n [3]int64
	for i, f := range []string{e.DBFile, e.DBFile + "-wal", e.DBFile + "-shm"} {
		n[i], _ = statFile(f)
	}
	return n
}

// Anyone can post to the webhooks: ten events with a 1 MB id (signed, even,
// so only the bounds stand in the way) are refused and the database does
// not grow; an id or type over 128 bytes is a 400.
func TestWebhookIDsAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The worker's first pass (pruning, reconciling) is done before measuring.
	if _, err := e.Worker.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := e.dbSizes()
	huge := strings.Repeat("x", 1_000_000)
	for i := range 10 {
		id := fmt.Sprintf("%d%s", i, huge)
		body := pproEvent(id, "PAYMENT_AGREEMENT_ACTIVE", "agr_x", "")
		for _, sig := range []string{"", signedPPRO(body)} {
			if code, _ := e.postPPRO(body, sig); code < 400 || code > 499 {
				t.Errorf("PPRO event with a 1 MB id: %d, want 4xx", code)
			}
		}
		// Under Stripe's 1 MiB body cap, so the id bound is what refuses it.
		payload := fmt.Sprintf(`{"id":%q,"object":"event","type":"checkout.session.completed","request":null,`+
			`"data":{"object":{"id":"cs_test_x","object":"checkout.session"}}}`, id)
		if code, _ := e.postStripeAt(payload, time.Now()); code != http.StatusBadRequest {
			t.Errorf("Stripe event with a 1 MB id: %d, want 400", code)
		}
	}
	if n := e.count(`SELECT count(*) FROM webhook_events`); n != 0 {
		t.Errorf("%d events stored", n)
	}
	// The attack grew the database by 21 MB; now not a byte is written.
	if after := e.dbSizes(); after != before {
		t.Errorf("the database, its WAL and its shared memory went from %v to %v bytes", before, after)
	}

	long := strings.Repeat("e", payments.MaxEventField+1)
	for name, body := range map[string][]byte{
		"id":   pproEvent(long, "PAYMENT_AGREEMENT_ACTIVE", "agr_x", ""),
		"type": pproEvent("evt_long_type", long, "agr_x", ""),
		"ref":  pproEvent("evt_long_ref", "PAYMENT_AGREEMENT_ACTIVE", "agr_"+long, ""),
	} {
		if code, _ := e.postPPRO(body, signedPPRO(body)); code != http.StatusBadRequest {
			t.Errorf("PPRO event with a %s of %d bytes: %d, want 400", name, len(long), code)
		}
	}
	payload := fmt.Sprintf(`{"id":%q,"object":"event","type":"checkout.session.completed","request":null,`+
		`"data":{"object":{"id":"cs_test_x","object":"checkout.session"}}}`, long)
	if code, _ := e.postStripeAt(payload, time.Now()); code != http.StatusBadRequest {
		t.Errorf("Stripe event with an id of %d bytes: %d, want 400", len(long), code)
	}
	// PPRO's thin events are far under 64 KiB: a body over it is refused
	// before it is read, whatever it holds.
	padded := pproEvent("evt_padded", "PAYMENT_AGREEMENT_ACTIVE", "agr_x", "")
	padded = append(padded[:len(padded)-1], []byte(`,"padding":"`+strings.Repeat("p", 64<<10)+`"}`)...)
	if code, _ := e.postPPRO(padded, signedPPRO(padded)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("PPRO event of %d bytes: %d, want 413", len(padded), code)
	}
	// 128 bytes is still an id.
	ok := pproEvent(strings.Repeat("e", payments.MaxEventField), "PAYMENT_AGREEMENT_ACTIVE", "agr_x", "")
	if code, _ := e.postPPRO(ok, signedPPRO(ok)); code != http.StatusAccepted {
		t.Errorf("PPRO event with an id of 128 bytes: %d, want 202", code)
	}
}

// PPRO answers 409 while the first request with the same idempotency key
// is still in flight: the create backs off and tries again with the same
// key, and the shopper gets one agreement.
func TestPPROCreateRetriedAfter409MakesOneAgreement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPPRORetries(3))
	b := pagetest.NewBrowser(t)
	form := e.pproForm(b, true)
	var (
		mu   sync.Mutex
		keys []string // of each create call
	)
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/sandbox/ppro/v1/payment-agreements" {
			return false
		}
		mu.Lock()
		keys = append(keys, r.Header.Get("Request-Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		if n > 1 {
			return false // forwarded
		}
		// The first reaches PPRO, but its answer is lost and a retry (this
		// one) finds it still in flight.
		e.Forward(httptest.NewRecorder(), r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"status":409,"failureMessage":"A request with this idempotency key is still being processed","timestamp":"2026-11-23T00:00:00.000Z"}`)
		return true
	})
	approval := e.pproApproval(b, form) // a 303 to the approval page, not an error page
	e.Intercept(nil)
	mu.Lock()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Errorf("create calls with idempotency keys %q, want two with the same", keys)
	}
	mu.Unlock()
	m := e.pproMandate(approval)
	index := b.Get(e.URL + "/sandbox/").Expect(http.StatusOK)
	if n := strings.Count(index.Body, `<td data-label="Merchant reference"><code>`+m.ID+"</code></td>"); n != 1 {
		t.Errorf("the sandbox holds %d agreements with reference %s, want 1", n, m.ID)
	}
	if n := e.count(`SELECT count(*) FROM mandates`); n != 1 {
		t.Errorf("%d mandates", n)
	}
	page := b.Follow(e.decide(b, approval, "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Errorf("outcome %q", got)
	}
	if got := page.TestIDAttr("first-payment", "data-status"); got != "succeeded" {
		t.Errorf("first payment %q", got)
	}
}

// The agreement states its terms: how often, how much exactly, and the
// browser the shopper consented from.
func TestPPROAgreementStatesItsTerms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		interval payments.Interval
		freq     string
	}{{payments.Month, "MONTHLY"}, {payments.Week, "WEEKLY"}} {
		t.Run(tc.freq, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withPlan(payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1500, Currency: "USD"}, Interval: tc.interval}))
			b := pagetest.NewBrowser(t)
			b.Header.Set("User-Agent", "TermsTest/1.0 (shopper's browser)")
			m := e.pproMandate(e.pproApproval(b, e.pproForm(b, false)))
			if m.Consent.ClientIP != "127.0.0.1" || m.Consent.UserAgent != "TermsTest/1.0 (shopper's browser)" {
				t.Fatalf("consent record: %+v", m.Consent)
			}

			agr, err := e.PPRO.GetAgreement(context.Background(), m.ProviderRef)
			if err != nil {
				t.Fatal(err)
			}
			if c := agr.Consumer.Client; c == nil || c.IP != m.Consent.ClientIP || c.UserAgent != m.Consent.UserAgent {
				t.Errorf("consumer.client = %+v, want the consent record's %q and %q", c, m.Consent.ClientIP, m.Consent.UserAgent)
			}
			// The typed client reads what the app needs; the terms are read
			// from PPRO's (the sandbox's) JSON as it is.
			var raw struct {
				Frequency *struct {
					Type     string
					Interval int
				} `json:"frequency"`
				Amount *struct {
					Value    int64
					Currency string
				} `json:"amount"`
				AmountType string `json:"amountType"`
			}
			e.pproGet("/v1/payment-agreements/"+m.ProviderRef, &raw)
			if raw.Frequency == nil || raw.Frequency.Type != tc.freq || raw.Frequency.Interval != 1 {
				t.Errorf("frequency = %+v, want %s every 1", raw.Frequency, tc.freq)
			}
			if raw.Amount == nil || raw.Amount.Value != 1500 || raw.Amount.Currency != "USD" || raw.AmountType != ppro.AmountTypeExact {
				t.Errorf("amount = %+v %q, want exactly 1500 USD", raw.Amount, raw.AmountType)
			}
		})
	}
}

// pproGet reads a PPRO API object from the sandbox as JSON.
func (e *env) pproGet(path string, out any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/sandbox/ppro"+path, nil)
	req.Header.Set("Authorization", "Bearer "+pproToken)
	req.Header.Set("Merchant-Id", pproMerchant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		e.t.Fatal(err)
	}
}

// PPRO's charge events name the charge, not the agreement: they are
// mapped to our payment by paymentChargeId.
func TestPPROChargeWebhookIsMappedByChargeID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	m := e.approvedPPRO(b, true) // captured at PPRO, still pending here
	fp := m.FirstPayment
	if fp == nil || fp.Status != payments.ChargePending || !strings.HasPrefix(fp.ProviderRef, "charge_") {
		t.Fatalf("first payment before the event: %+v", fp)
	}

	body := pproEvent("evt_capture", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED", "", fp.ProviderRef)
	if code, _ := e.postPPRO(body, signedPPRO(body)); code != http.StatusAccepted {
		t.Fatalf("charge event: %d", code)
	}
	if status, outcome := e.waitEvent("ppro", "evt_capture"); status != store.EventProcessed {
		t.Fatalf("charge event %s: %s", status, outcome)
	}
	got, _ := e.Store.ChargeByProviderRef(context.Background(), fp.ProviderRef)
	if got.ID != fp.ID || got.Status != payments.ChargeSucceeded {
		t.Errorf("first payment after the event: %+v", got)
	}
	if n := e.count(`SELECT count(*) FROM webhook_events WHERE event_id = 'evt_capture' AND mandate_id = ?`, m.ID); n != 1 {
		t.Error("the event is not linked to the mandate")
	}

	// A charge that is not ours is acknowledged and ignored.
	other := pproEvent("evt_not_ours", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED", "", "charge_NotOurs")
	if code, _ := e.postPPRO(other, signedPPRO(other)); code != http.StatusAccepted {
		t.Fatalf("foreign charge event: %d", code)
	}
	if status, outcome := e.waitEvent("ppro", "evt_not_ours"); status != store.EventIgnored {
		t.Errorf("foreign charge event %s: %s", status, outcome)
	}
}

// An event stored but not processed when the process stopped is processed
// by the next process's worker.
func TestPendingWebhookEventsAreProcessedAfterARestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	m := e.approvedPPRO(b, false)
	ctx := context.Background()
	// Stored, then the process died before processing it.
	if _, isNew, err := e.Store.StoreWebhookEvent(ctx, "ppro", payments.Event{
		ID: "evt_before_crash", Type: "PAYMENT_AGREEMENT_ACTIVE", SetupRef: m.ProviderRef, MandateID: m.ID,
	}); err != nil || !isNew {
		t.Fatalf("store: %v %v", isNew, err)
	}

	// The next process: its own store, service and worker on the same file.
	st, err := store.Open(ctx, e.DBFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := ppro.NewClient(ppro.Config{BaseURL: e.URL + "/sandbox/ppro", Token: pproToken, MerchantID: pproMerchant})
	if err != nil {
		t.Fatal(err)
	}
	providers := []payments.Provider{ppro.NewProvider(c, payments.ModeSandbox, pproWebhookSecret)}
	svc, err := service.New(service.Config{Store: st, Providers: providers})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(worker.Config{Store: st, Service: svc, Providers: providers})
	r, err := w.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 1 {
		t.Errorf("the pass processed %d events, want 1", r.Events)
	}
	got, _ := st.Mandate(ctx, m.ID)
	if got.Status != mandate.Active {
		t.Errorf("mandate %s after the restart's pass", got.Status)
	}
	if status, outcome := e.waitEvent("ppro", "evt_before_crash"); status != store.EventProcessed {
		t.Errorf("event %s: %s", status, outcome)
	}
}

// A flood of events about one agreement (forged, or a provider's burst)
// is processed once per FetchLimit, not once per event: the rest wait.
func TestWebhookFloodFetchesAnAgreementOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFetchLimit(time.Hour))
	b := pagetest.NewBrowser(t)
	m := e.approvedPPRO(b, false)
	var fetches atomic.Int32
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/sandbox/ppro/v1/payment-agreements/") {
			fetches.Add(1)
		}
		return false
	})
	const flood = 30
	for i := range flood {
		body := pproEvent(fmt.Sprintf("evt_flood_%d", i), "PAYMENT_AGREEMENT_ACTIVE", m.ProviderRef, "")
		if code, _ := e.postPPRO(body, signedPPRO(body)); code != http.StatusAccepted {
			t.Fatalf("event %d: %d", i, code)
		}
	}
	// Whatever the nudged passes left, this pass finishes.
	if _, err := e.Worker.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	// One event processed: its setup verified (one fetch) and, now active,
	// its standing checked (Stripe's setup status says nothing of a
	// detached payment method, so the service asks again).
	if n := fetches.Load(); n < 1 || n > 2 {
		t.Errorf("%d agreement fetches for %d events, want those of one event", n, flood)
	}
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status != mandate.Active {
		t.Errorf("mandate %s", got.Status)
	}
	if n := e.count(`SELECT count(*) FROM webhook_events WHERE status = 'pending' AND outcome LIKE 'fetched a moment ago%'`); n != flood-1 {
		t.Errorf("%d events left for later, want %d", n, flood-1)
	}
}

// Stripe's own redelivery covers an outage (5xx asks for it), but an event
// whose object the API refuses or no longer has is answered 200 and
// recorded, so Stripe does not retry it for three days.
func TestStripeWebhookIsAcknowledgedWhenTheFetchIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	csID := sessionID(checkout)
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)
	for i, outage := range []int32{upstream400, http.StatusNotFound} {
		id := fmt.Sprintf("evt_refused_%d", i)
		payload := fmt.Sprintf(`{"id":%q,"object":"event","type":"checkout.session.completed","request":null,`+
			`"data":{"object":{"id":%q,"object":"checkout.session"}}}`, id, csID)
		e.outage.Store(outage)
		code, body := e.postStripeAt(payload, time.Now())
		e.outage.Store(upstreamUp)
		if code != http.StatusOK {
			t.Errorf("fetch answered %d: webhook answered %d %q, want 200", outage, code, body)
		}
		if status, outcome := e.waitEvent("stripe", id); status != store.EventIgnored || outcome == "" {
			t.Errorf("fetch answered %d: event %s with outcome %q, want ignored and why", outage, status, outcome)
		}
	}
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status != mandate.Pending {
		t.Errorf("mandate %s", got.Status)
	}
}

// The agreement's status stands even when its first charge cannot be
// fetched: the mandate is active, and that payment stays pending until it
// can be.
func TestPPROAgreementAppliedWhenItsFirstChargeCannotBeFetched(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	approval := e.pproApproval(b, e.pproForm(b, true))
	m := e.pproMandate(approval)
	back := e.decide(b, approval, "approve").Expect(http.StatusSeeOther)
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/sandbox/ppro/v1/payment-charges/") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"status":503,"failureMessage":"Simulated outage","timestamp":"2026-11-23T00:00:00.000Z"}`)
		return true
	})
	page := b.Follow(back).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("outcome %q", got)
	}
	got, _ := e.Store.Mandate(context.Background(), m.ID)
	if got.Status != mandate.Active || got.FirstPayment == nil || got.FirstPayment.Status != payments.ChargePending {
		t.Fatalf("mandate %s, first payment %+v", got.Status, got.FirstPayment)
	}
	// Once PPRO answers again, the first payment is settled.
	e.Intercept(nil)
	b.Get(page.URL.String()).Expect(http.StatusOK)
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.FirstPayment.Status != payments.ChargeSucceeded {
		t.Errorf("first payment after PPRO answers again: %+v", got.FirstPayment)
	}
}

// An event the fetch limit holds back (it came a moment after another
// about the same agreement) is processed when it falls due, not at the
// worker's next regular pass half a minute later: a shopper who revokes
// right after approving sees it at once.
func TestEventHeldBackByTheFetchLimitIsProcessedWhenDue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks, withFetchLimit(2*time.Second))
	b := pagetest.NewBrowser(t)
	m := e.approvedPPRO(b, false)
	e.waitStatus(m.ID, mandate.Active) // the webhook fetched the agreement just now
	e.waitCharged(m.ID)
	index := b.Get(e.URL + "/sandbox/").Expect(http.StatusOK)
	b.Do(index.Submit("by", "consumer", nil)).Expect(http.StatusSeeOther)
	start := time.Now()
	e.waitStatus(m.ID, mandate.Revoked) // within 10 s; the worker's interval is 30 s
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("revoked after %v", d)
	}
	if h, _ := e.Store.History(context.Background(), m.ID); h[len(h)-1].Source != mandate.SourceWebhook {
		t.Errorf("revoked from %s, want the webhook", h[len(h)-1].Source)
	}
}

// Checking a Stripe mandate's standing takes two reads (the mandate, the
// payment method); a detach that lands between them is still the
// merchant's detach, not Amazon's revocation, whichever read comes first.
func TestStripeDetachBetweenTheTwoReadsIsTheMerchants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Active, its first period paid: the worker has nothing more to ask
	// Stripe, so the reads counted below are the event's alone.
	m, _ := e.activeMandate("stripe")
	if m.ProviderMandateRef == "" {
		t.Fatalf("no Stripe mandate on %+v", m)
	}
	var reads atomic.Int32
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || (r.URL.Path != "/sandbox/stripe/v1/payment_methods/"+m.PaymentMethodID &&
			r.URL.Path != "/sandbox/stripe/v1/mandates/"+m.ProviderMandateRef) {
			return false
		}
		e.Forward(w, r)
		if reads.Add(1) == 1 { // the merchant detaches it in the Dashboard, just now
			if _, err := e.Stripe.PaymentMethods.Detach(m.PaymentMethodID, nil); err != nil {
				t.Error(err)
			}
		}
		return true
	})
	payload := fmt.Sprintf(`{"id":"evt_between","object":"event","type":"mandate.updated","request":null,`+
		`"data":{"object":{"id":%q,"object":"mandate","payment_method":%q,"status":"active"}}}`, m.ProviderMandateRef, m.PaymentMethodID)
	if code, body := e.postStripeAt(payload, time.Now()); code != http.StatusOK {
		t.Fatalf("event: %d %q", code, body)
	}
	got, _ := e.Store.Mandate(context.Background(), m.ID)
	if got.Status != mandate.Revoked || got.RevokedBy != payments.RevokedByMerchant {
		t.Errorf("mandate %s, revoked by %q; want revoked by the merchant", got.Status, got.RevokedBy)
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads", n)
	}
}
