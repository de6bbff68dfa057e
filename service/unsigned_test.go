package service_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/sandbox"
	"example.com/storefront/service"
	"example.com/storefront/store"
)

// Without a PPRO webhook secret, webhooks are unsigned nudges that anyone
// can send. 300 of them, each naming a new charge id, cost at most the
// budget's provider calls a minute, all objects together; the rest are
// recorded as dropped. A minute later the budget is there again.
func TestUnsignedEventsHaveABudgetPerMinute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	const token, merchant = "ppro_budget_token", "merch_budget"
	sb, err := sandbox.New(ctx, sandbox.Config{
		DBPath: filepath.Join(dir, "sandbox.db"), PublicURL: "http://127.0.0.1/sandbox", MerchantName: "Northwind Coffee",
		PPRO: sandbox.PPROConfig{APIToken: token, MerchantID: merchant},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	client, err := ppro.NewClient(ppro.Config{BaseURL: api.URL + "/sandbox/ppro", Token: token, MerchantID: merchant, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	p := ppro.NewProvider(client, payments.ModeSandbox, "") // no webhook secret: unsigned
	st, err := store.Open(ctx, filepath.Join(dir, "storefront.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := service.New(service.Config{Store: st, Providers: []payments.Provider{p}, FetchLimit: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	// event delivers an unsigned PPRO event naming charge id ref, as the
	// webhook handler does, and processes it.
	event := func(n int, ref string, now time.Time) service.Outcome {
		body := fmt.Sprintf(`{"specversion":"1.0","id":"evt_flood_%d","type":"PAYMENT_CHARGE_CAPTURE_SUCCEEDED","source":"ppro","data":{"paymentChargeId":%q}}`, n, ref)
		req := httptest.NewRequest(http.MethodPost, "/webhooks/ppro", strings.NewReader(body))
		ev, err := p.ParseWebhook(req)
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := st.StoreWebhookEvent(ctx, p.Name(), ev)
		if err != nil {
			t.Fatal(err)
		}
		return svc.ProcessEvent(ctx, p, e, now)
	}
	const perMinute = 60 // the default budget
	now := time.Now()
	dropped := 0
	for i := range 300 {
		out := event(i, fmt.Sprintf("charge_flood_%d", i), now.Add(time.Duration(i)*100*time.Millisecond))
		if out.Status == store.EventIgnored && strings.Contains(out.Detail, "budget") {
			dropped++
		}
	}
	t.Logf("300 events: %d provider calls, %d dropped", calls.Load(), dropped)
	// 30 seconds of flood: the budget and half a minute's refill.
	if n := calls.Load(); n > perMinute*3/2 {
		t.Errorf("300 unsigned events made %d provider calls, want at most %d", n, perMinute*3/2)
	}
	if want := 300 - int(calls.Load()); dropped != want {
		t.Errorf("%d events recorded as dropped over the budget, want the %d that made no call", dropped, want)
	}
	before := calls.Load()
	if out := event(300, "charge_after_the_flood", now.Add(2*time.Minute)); strings.Contains(out.Detail, "budget") || calls.Load() != before+1 {
		t.Errorf("a minute after the flood an event was not fetched: %+v", out)
	}
}
