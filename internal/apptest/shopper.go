package apptest

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL databases' driver
	_ "modernc.org/sqlite"             // the database files' driver

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/pgdb"
	"example.com/storefront/store"
)

// Mandates are made as a shopper makes them, through the app's pages and
// the sandbox's; what the app and the provider then hold is read from
// their own databases.

// CheckoutForm is a valid checkout form for provider, as the home page
// renders it.
func (a *App) CheckoutForm(b *pagetest.Browser, provider, email string, payNow bool) url.Values {
	a.t.Helper()
	home := b.Get(a.URL + "/").Expect(http.StatusOK)
	f := url.Values{
		"name": {"Ada Lovelace"}, "email": {email}, "country": {"US"}, "provider": {provider}, "consent": {"yes"},
		"terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	if payNow {
		f.Set("pay_now", "yes")
	}
	return f
}

// StripeApproval starts a Stripe setup through the pages and returns the
// mandate and Amazon Pay's approval page.
func (a *App) StripeApproval(b *pagetest.Browser) (store.Mandate, *pagetest.Page) {
	a.t.Helper()
	resp := b.Post(a.URL+"/create-checkout-session", a.CheckoutForm(b, "stripe", "ada@example.com", false)).Expect(http.StatusSeeOther)
	checkout := b.Follow(resp).Expect(http.StatusOK)
	m := a.mandateAt(checkout, "stripe")
	approval := b.Follow(b.Do(checkout.Submit("method", "amazon_pay", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	return m, approval
}

// PPROApproval starts a PPRO setup through the pages, with or without the
// first payment taken with it, and returns the mandate and Amazon Pay's
// approval page.
func (a *App) PPROApproval(b *pagetest.Browser, payNow bool) (store.Mandate, *pagetest.Page) {
	a.t.Helper()
	resp := b.Post(a.URL+"/create-checkout-session", a.CheckoutForm(b, "ppro", "grace@example.com", payNow)).Expect(http.StatusSeeOther)
	approval := b.Follow(resp).Expect(http.StatusOK)
	return a.mandateAt(approval, "ppro"), approval
}

// mandateAt is the mandate whose provider reference ends the page's path.
func (a *App) mandateAt(p *pagetest.Page, provider string) store.Mandate {
	a.t.Helper()
	parts := strings.Split(p.URL.Path, "/")
	m, err := a.Store.MandateByProviderRef(context.Background(), provider, parts[len(parts)-1])
	if err != nil {
		a.t.Fatalf("no mandate for %s: %v", p.URL, err)
	}
	return m
}

// Approve presses "approve" on the approval page, follows the shopper
// back to the shop and returns the mandate, which must be active.
func (a *App) Approve(b *pagetest.Browser, m store.Mandate, approval *pagetest.Page) store.Mandate {
	a.t.Helper()
	back := b.Follow(b.Do(approval.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := back.TestIDAttr("outcome", "data-status"); got != "active" {
		a.t.Fatalf("outcome %q after approving: %s", got, back.Text())
	}
	m = a.Mandate(m.ID)
	if m.Status != mandate.Active {
		a.t.Fatalf("mandate %s is %s after approving, want active", m.ID, m.Status)
	}
	return m
}

// ActiveStripe is a Stripe mandate made active through the pages.
func (a *App) ActiveStripe() store.Mandate {
	a.t.Helper()
	b := pagetest.NewBrowser(a.t)
	m, approval := a.StripeApproval(b)
	return a.Approve(b, m, approval)
}

// ActivePPRO is a PPRO mandate made active through the pages, with or
// without the first payment taken with the setup.
func (a *App) ActivePPRO(payNow bool) store.Mandate {
	a.t.Helper()
	b := pagetest.NewBrowser(a.t)
	m, approval := a.PPROApproval(b, payNow)
	return a.Approve(b, m, approval)
}

// Active is an active mandate of the named provider ("stripe", "ppro"),
// made without a first payment.
func (a *App) Active(provider string) store.Mandate {
	a.t.Helper()
	if provider == "stripe" {
		return a.ActiveStripe()
	}
	return a.ActivePPRO(false)
}

// AdminBrowser is a browser logged in to the merchant's dashboard.
func (a *App) AdminBrowser() *pagetest.Browser {
	a.t.Helper()
	b := pagetest.NewBrowser(a.t)
	b.Post(a.URL+"/admin/login", url.Values{"password": {AdminPassword}, "next": {"/admin"}}).Expect(http.StatusSeeOther)
	return b
}

// Mandate, Charge, Charges and Billing read what the app holds.
func (a *App) Mandate(id string) store.Mandate {
	a.t.Helper()
	m, err := a.Store.Mandate(context.Background(), id)
	if err != nil {
		a.t.Fatal(err)
	}
	return m
}

func (a *App) Charge(id int64) store.Charge {
	a.t.Helper()
	c, err := a.Store.Charge(context.Background(), id)
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// Charges are a mandate's charges, oldest first.
func (a *App) Charges(id string) []store.Charge {
	a.t.Helper()
	cs, err := a.Store.Charges(context.Background(), id)
	if err != nil {
		a.t.Fatal(err)
	}
	return cs
}

func (a *App) Billing(id string) store.Billing {
	a.t.Helper()
	b, err := a.Store.Billing(context.Background(), id)
	if err != nil {
		a.t.Fatalf("billing of %s: %v", id, err)
	}
	return b
}

// InPeriod is the charges for billing period n, in cs's order (a
// mandate's charges are oldest first, so by attempt).
func InPeriod(cs []store.Charge, n int) []store.Charge {
	var out []store.Charge
	for _, c := range cs {
		if c.Period == n {
			out = append(out, c)
		}
	}
	return out
}

// SandboxCount runs a COUNT(*) (or any one-integer) query on the
// sandbox's own database: what the provider holds, whatever the app
// thinks.
func (a *App) SandboxCount(query string, args ...any) int {
	a.t.Helper()
	var n int
	a.SandboxRow(query, args...).Scan(a.t, &n)
	return n
}

// AppCount runs a one-integer query on the app's database file.
func (a *App) AppCount(query string, args ...any) int {
	a.t.Helper()
	var n int
	a.AppRow(query, args...).Scan(a.t, &n)
	return n
}

// SandboxRow runs a one-row query on the sandbox's own database.
func (a *App) SandboxRow(query string, args ...any) Row {
	return Row{file: a.SBFile, query: query, args: args}
}

// AppRow runs a one-row query on the app's database, written with ?
// placeholders for either database.
func (a *App) AppRow(query string, args ...any) Row {
	return Row{file: a.DB, query: query, args: args}
}

// Row is a query's one row, read (from its own read-only connection, as
// another process would) by Scan.
type Row struct {
	file, query string
	args        []any
}

func (r Row) Scan(t testing.TB, dest ...any) {
	t.Helper()
	driver, dsn, query := "sqlite", "file:"+r.file+"?mode=ro&_pragma=busy_timeout(5000)", r.query
	if pgdb.IsURL(r.file) {
		driver, dsn, query = "pgx", r.file, pgdb.Rebind(r.query)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(query, r.args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", r.query, err)
	}
}

// StripePayments counts the sandbox's PaymentIntents that carry our
// reference (the charge's idempotency key, in metadata.charge_ref).
func (a *App) StripePayments(reference string) int {
	a.t.Helper()
	return a.SandboxCount(`SELECT count(*) FROM stripe_payment_intents WHERE json_extract(metadata, '$.charge_ref') = ?`, reference)
}

// PPROPayments counts the sandbox's PPRO charges that carry our reference.
func (a *App) PPROPayments(reference string) int {
	a.t.Helper()
	return a.SandboxCount(`SELECT count(*) FROM ppro_charges WHERE merchant_reference = ?`, reference)
}

// Payments counts the provider's payments for our reference, whichever
// provider m is with.
func (a *App) Payments(m store.Mandate, reference string) int {
	a.t.Helper()
	if m.Provider == "stripe" {
		return a.StripePayments(reference)
	}
	return a.PPROPayments(reference)
}
