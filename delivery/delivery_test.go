package delivery_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/delivery"
	"example.com/storefront/internal/dbtest"
	"example.com/storefront/internal/pgtest"
	"example.com/storefront/internal/smtptest"
	"example.com/storefront/mailer"
	"example.com/storefront/notify"
	"example.com/storefront/payments"
	"example.com/storefront/shopperlink"
	"example.com/storefront/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a store with one mandate, a real SMTP server and the real
// renderer.
type fixture struct {
	store   *store.Store
	smtp    *smtptest.Server
	sink    delivery.Sink
	render  delivery.Render
	mandate store.Mandate
}

func newFixture(t *testing.T, where string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, where, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := st.CreateMandate(ctx, store.NewMandate{Email: "ada@example.com", Name: "Ada Lovelace", Country: "US", Provider: "stripe",
		Mode: payments.ModeSandbox, Plan: payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month},
		Consent: store.Consent{TermsVersion: "v2", Merchant: "Acme", Contact: "hello@acme.example", AcceptedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t)
	cfg, err := mailer.ParseURL(srv.URL(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 5 * time.Second
	sender, err := mailer.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := notify.New(notify.Config{Merchant: "Acme", Contact: "hello@acme.example", BaseURL: "http://shop.example",
		Links: shopperlink.New([]byte(strings.Repeat("k", 32)), time.Hour)})
	return &fixture{store: st, smtp: srv, sink: delivery.SMTP{Sender: sender}, render: r.Render, mandate: m}
}

// deliverer is a Deliverer with short waits, for a test.
func (f *fixture) deliverer(t *testing.T, maxAttempts int) *delivery.Deliverer {
	t.Helper()
	d, err := delivery.New(delivery.Config{Store: f.store, Render: f.render, From: "Acme <hello@acme.example>", Sinks: []delivery.Sink{f.sink},
		FirstRetry: 20 * time.Millisecond, MaxWait: 100 * time.Millisecond, MaxAttempts: maxAttempts})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// enqueue writes n fresh-link messages (one per key) for the mandate.
func (f *fixture) enqueue(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		if _, err := f.store.EnqueueMessage(context.Background(), store.NewMessage{Key: "test/" + strconv.Itoa(i), Kind: store.MsgLink,
			MandateID: f.mandate.ID, To: f.mandate.Customer.Email, Data: store.LinkData{At: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
}

// Messages written while the mail server is down wait, are tried again
// after growing waits, and each reaches the server once when it is back,
// however many deliverers (processes) share the outbox.
func TestMessagesWaitForTheMailServerAndGoOutOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		f := newFixture(t, db.New(t))
		f.smtp.Stop()
		f.enqueue(t, 12)
		deliverers := []*delivery.Deliverer{f.deliverer(t, 100), f.deliverer(t, 100), f.deliverer(t, 100)}
		for _, d := range deliverers {
			if n, err := d.Deliver(ctx); err != nil || n != 0 {
				t.Fatalf("with the server down: %d sent, %v", n, err)
			}
		}
		pending, err := f.store.UndeliveredMessages(ctx, store.MessagePending, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range pending {
			// Tried (more than once, on a slow machine, where the short
			// first wait ends within one Deliver), and waiting.
			if m.Attempts < 1 || !strings.Contains(m.LastError, "connection refused") {
				t.Fatalf("%s after failed tries: attempts %d, error %q", m.Key, m.Attempts, m.LastError)
			}
		}
		if len(pending) != 12 {
			t.Fatalf("%d messages pending, want 12", len(pending))
		}

		f.smtp.Restart(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		sent := 0
		for _, d := range deliverers {
			wg.Go(func() {
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					n, err := d.Deliver(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					sent += n
					done := sent == 12
					mu.Unlock()
					if done {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		got := f.smtp.Messages()
		keys := map[string]int{}
		for _, m := range got {
			keys[m.Header.Get("Message-Id")]++
		}
		if len(got) != 12 || len(keys) != 12 || sent != 12 {
			t.Fatalf("the server has %d messages with %d Message-IDs (deliverers say %d sent), want each of 12 once", len(got), len(keys), sent)
		}
		if c, err := f.store.CountMessages(ctx); err != nil || c.Pending != 0 || c.Failed != 0 {
			t.Fatalf("outbox counts %+v (%v), want nothing left", c, err)
		}
	})
}

// A refusal for good fails a message at once; one that keeps failing is
// given up after MaxAttempts; a message that cannot be rendered is given
// up too. The merchant sees them failed and may send them again.
func TestMessagesThatCannotBeSentAreGivenUp(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		f := newFixture(t, db.New(t))
		d := f.deliverer(t, 3)

		f.enqueue(t, 1)
		f.smtp.FailNext(1, 550)
		if _, err := d.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := f.store.MessageByKey(ctx, "test/0")
		if err != nil || m.Status != store.MessageFailed || m.Attempts != 1 || !strings.Contains(m.LastError, "550") {
			t.Fatalf("after a 550: %+v (%v), want failed after one attempt, with the server's words", m, err)
		}

		if _, err := f.store.EnqueueMessage(ctx, store.NewMessage{Key: "bad", Kind: "no such kind", MandateID: f.mandate.ID,
			To: "ada@example.com", Data: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if m, err := f.store.MessageByKey(ctx, "bad"); err != nil || m.Status != store.MessageFailed || !strings.Contains(m.LastError, "cannot be rendered") {
			t.Fatalf("a message that cannot be rendered: %+v (%v)", m, err)
		}

		// Temporarily refused (451) three times: given up at the third.
		if _, err := f.store.EnqueueMessage(ctx, store.NewMessage{Key: "busy", Kind: store.MsgLink, MandateID: f.mandate.ID,
			To: "ada@example.com", Data: store.LinkData{At: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		f.smtp.FailNext(3, 451)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := d.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			m, err := f.store.MessageByKey(ctx, "busy")
			if err != nil {
				t.Fatal(err)
			}
			if m.Status == store.MessageFailed {
				if m.Attempts != 3 {
					t.Fatalf("given up after %d attempts, want 3", m.Attempts)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %s after %d attempts", m.Status, m.Attempts)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if c, err := f.store.CountMessages(ctx); err != nil || c.Failed != 3 {
			t.Fatalf("counts %+v (%v), want 3 failed", c, err)
		}
		if n := len(f.smtp.Messages()); n != 0 {
			t.Fatalf("%d messages reached the server", n)
		}

		// The merchant sends one again; it goes out.
		if ok, err := f.store.ResendMessage(ctx, m.ID); err != nil || !ok {
			t.Fatalf("resend: %v %v", ok, err)
		}
		if n, err := d.Deliver(ctx); err != nil || n != 1 {
			t.Fatalf("after the resend: %d sent, %v", n, err)
		}
		if got := f.smtp.Messages(); len(got) != 1 || !strings.Contains(got[0].Text, "Acme") {
			t.Fatalf("the server has %d messages", len(got))
		}
	})
}
