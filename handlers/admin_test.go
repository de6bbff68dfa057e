package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"golang.org/x/net/html"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/store"
)

// merchantProviders are the providers every test of the merchant's side
// runs with.
var merchantProviders = []string{"stripe", "ppro"}

// activeMandate makes an active mandate through the storefront, as a
// shopper does (the form, the provider's page, approve, back at the shop),
// and returns it with the shopper's browser, whose session made it.
func (e *env) activeMandate(provider string) (store.Mandate, *pagetest.Browser) {
	e.t.Helper()
	b := pagetest.NewBrowser(e.t)
	var id string
	switch provider {
	case "stripe":
		checkout := e.checkout(b, e.validForm(b))
		b.Follow(e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		m, err := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
		if err != nil {
			e.t.Fatal(err)
		}
		id = m.ID
	case "ppro":
		approval := e.pproApproval(b, e.pproForm(b, false))
		b.Follow(e.decide(b, approval, "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		id = e.pproMandate(approval).ID
	default:
		e.t.Fatalf("no provider %q", provider)
	}
	// The first period falls due at once: the worker charges it (the
	// success page nudges it). A pass here, and waiting for the background
	// worker's own pass when it holds the claim, settles that before the
	// test goes on, so that nothing else calls the provider behind its back.
	if _, err := e.Worker.Pass(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.waitPeriodOneSettled(id)
	return e.mandate(id, mandate.Active), b
}

// chargeDue runs the worker's passes until one charges nothing: every
// period due on the demo clock is paid (or declined) and billing has no
// work left that a background pass could send.
func (e *env) chargeDue() {
	e.t.Helper()
	for range 50 {
		r, err := e.Worker.Pass(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if r.Charged == 0 && !r.More {
			return
		}
	}
	e.t.Fatal("the worker still charged after 50 passes")
}

// waitPeriodOneSettled waits until no worker holds the mandate's billing
// and its first period is paid or declined.
func (e *env) waitPeriodOneSettled(id string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		bl, err := e.Store.Billing(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if bl.LeaseOwner == "" && (bl.NextPeriod > 1 || bl.Failures > 0) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("period 1 of %s is not settled: %+v", id, bl)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mandate reads a mandate from the store, failing unless it is in status want.
func (e *env) mandate(id string, want mandate.Status) store.Mandate {
	e.t.Helper()
	m, err := e.Store.Mandate(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	if m.Status != want {
		e.t.Fatalf("mandate %s is %s, want %s", id, m.Status, want)
	}
	return m
}

// adminBrowser logs in to the dashboard and returns the merchant's browser.
func (e *env) adminBrowser() *pagetest.Browser {
	e.t.Helper()
	b := pagetest.NewBrowser(e.t)
	resp := b.Post(e.URL+"/admin/login", url.Values{"password": {adminPassword}, "next": {"/admin"}}).Expect(http.StatusSeeOther)
	if loc := resp.Location(); loc != e.URL+"/admin" {
		e.t.Fatalf("after login sent to %s", loc)
	}
	return b
}

// adminPage opens a mandate's page in the dashboard.
func (e *env) adminPage(b *pagetest.Browser, id string) *pagetest.Page {
	e.t.Helper()
	return b.Get(e.URL + "/admin/mandates/" + id).Expect(http.StatusOK)
}

// send sends a form and follows its 303 back to a page.
func (e *env) send(b *pagetest.Browser, req *http.Request) *pagetest.Page {
	e.t.Helper()
	return b.Follow(b.Do(req).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
}

// chargeForm is the confirmed "charge now" request of a mandate's page,
// for amount: what its confirmation page sends (the same token and
// amount, confirm=1, and a reason, which the terms need for an amount
// other than the plan's price and which is dropped otherwise).
// TestAdminChargeConfirmation walks the confirmation page itself. (The
// charge form comes before any refund form on the page, whose action also
// contains "/charge".)
func chargeForm(page *pagetest.Page, amount string) *http.Request {
	return page.Submit("", "/charge", url.Values{"amount": {amount}, "confirm": {"1"}, "reason": {"a test of this amount"}})
}

// revokeNow is the confirmed "revoke now" request of a mandate's page:
// what its confirmation page's "Revoke now" button sends.
func revokeNow(page *pagetest.Page) *http.Request {
	return page.Submit("", "/revoke", url.Values{"when": {"now"}})
}

// refundForm is the refund request of a charge on a mandate's page.
func refundForm(page *pagetest.Page, chargeID int64, amount string) *http.Request {
	return page.Submit("", "/charges/"+itoa(chargeID)+"/refund", url.Values{"amount": {amount}})
}

// apiCalls records the app's API calls to the sandbox ("POST /sandbox/…").
type apiCalls struct {
	mu    sync.Mutex
	calls []string
	refs  []string // our references of the payments asked for
}

// recordCalls starts recording the app's API calls (they still go through).
func (e *env) recordCalls() *apiCalls {
	c := &apiCalls{}
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		call := r.Method + " " + r.URL.Path
		ref := ""
		if isPaymentCreate(call) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			ref = paymentReference(body)
		}
		c.mu.Lock()
		c.calls = append(c.calls, call)
		if ref != "" || isPaymentCreate(call) {
			c.refs = append(c.refs, ref)
		}
		c.mu.Unlock()
		return false
	})
	return c
}

// paymentReference is our reference in a request creating a payment:
// Stripe's metadata[charge_ref] (a form), PPRO's
// merchantPaymentChargeReference (JSON).
func paymentReference(body []byte) string {
	var ppro struct{ MerchantPaymentChargeReference string }
	if json.Unmarshal(body, &ppro) == nil {
		return ppro.MerchantPaymentChargeReference
	}
	form, _ := url.ParseQuery(string(body))
	return form.Get("metadata[charge_ref]")
}

func (c *apiCalls) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// payments counts the calls that asked for one of the merchant's charges
// (not a scheduled period's).
func (c *apiCalls) payments() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ref := range c.refs {
		if strings.Contains(ref, "/charge/") {
			n++
		}
	}
	return n
}

func isPaymentCreate(call string) bool {
	return call == "POST /sandbox/stripe/v1/payment_intents" ||
		(strings.HasPrefix(call, "POST /sandbox/ppro/v1/payment-agreements/") && strings.HasSuffix(call, "/payment-charges"))
}

// merchantCharges are the mandate's charges the merchant made.
func (e *env) merchantCharges(id string) []store.Charge {
	e.t.Helper()
	all, err := e.Store.Charges(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.Charge
	for _, c := range all {
		if c.Kind == store.KindMerchant {
			out = append(out, c)
		}
	}
	return out
}

// providerPayment is a payment as the provider holds it.
type providerPayment struct {
	ID, Reference, Status string
	Amount                int64
}

// providerPayments lists what the provider itself holds for a mandate:
// Stripe's PaymentIntents on the mandate's Customer, with our reference in
// their metadata; PPRO's charges on its agreement that PPRO's own search
// finds by our reference (PPRO need not echo it back), for every
// reference of the mandate's charges in our records. Only references that
// start with prefix.
func (e *env) providerPayments(m store.Mandate, prefix string) []providerPayment {
	e.t.Helper()
	var out []providerPayment
	switch m.Provider {
	case "stripe":
		params := &stripe.PaymentIntentListParams{Customer: stripe.String(m.ProviderCustomerRef)}
		params.Limit = stripe.Int64(100)
		it := e.Stripe.PaymentIntents.List(params)
		for it.Next() {
			pi := it.PaymentIntent()
			if ref := pi.Metadata["charge_ref"]; strings.HasPrefix(ref, prefix) {
				out = append(out, providerPayment{ID: pi.ID, Reference: ref, Status: string(pi.Status), Amount: pi.Amount})
			}
		}
		if err := it.Err(); err != nil {
			e.t.Fatal(err)
		}
	case "ppro":
		charges, err := e.Store.Charges(context.Background(), m.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range charges {
			if !strings.HasPrefix(c.IdempotencyKey, prefix) {
				continue
			}
			found, err := e.PPRO.SearchCharges(context.Background(), c.IdempotencyKey, m.PaymentMethodID)
			if err != nil {
				e.t.Fatal(err)
			}
			for _, ch := range found {
				p := providerPayment{ID: ch.ID, Reference: c.IdempotencyKey, Status: string(ch.Status)}
				if len(ch.Authorizations) > 0 {
					p.Amount = ch.Authorizations[0].Amount
				}
				out = append(out, p)
			}
		}
	}
	return out
}

// chargeOnPage finds a charge's card on a mandate's page by our id: its
// data-status and text ("" and false when it is not there).
func chargeOnPage(t *testing.T, page *pagetest.Page, id int64) (status, text string, ok bool) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page.Body))
	if err != nil {
		t.Fatal(err)
	}
	var found *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && attrOf(n, "data-testid") == "charge" && attrOf(n, "data-id") == itoa(id) {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		return "", "", false
	}
	var sb strings.Builder
	var collect func(*html.Node)
	collect = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(found)
	return attrOf(found, "data-status"), strings.Join(strings.Fields(sb.String()), " "), true
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// A stranger, a shopper's session and a wrong password see no mandate and
// change nothing: every dashboard page and form sends them to the login,
// no charge row is written and no provider is called.
func TestAdminNeedsALogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, shopper := e.activeMandate("stripe")
	// The merchant's real forms, to replay without a session.
	page := e.adminPage(e.adminBrowser(), m.ID)
	calls := e.recordCalls()

	wrong := pagetest.NewBrowser(t)
	login := wrong.Post(e.URL+"/admin/login", url.Values{"password": {"Correct Horse Battery Staple"}}).Expect(http.StatusUnauthorized)
	if msg, _ := login.TestID("login-error"); msg == "" {
		t.Errorf("a wrong password is not said to be wrong: %s", login.Text())
	}
	if len(wrong.Client.Jar.Cookies(mustURL(t, e.URL))) != 0 {
		t.Errorf("a wrong password got cookies: %v", wrong.Client.Jar.Cookies(mustURL(t, e.URL)))
	}
	forged := pagetest.NewBrowser(t)
	forged.Client.Jar.SetCookies(mustURL(t, e.URL), []*http.Cookie{{Name: "storefront_admin", Value: strings.Repeat("0", 64)}})

	for name, b := range map[string]*pagetest.Browser{
		"stranger":       pagetest.NewBrowser(t),
		"shopper":        shopper, // the browser whose session made the mandate
		"wrong password": wrong,
		"forged cookie":  forged,
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/admin", "/admin/mandates/" + m.ID, "/admin/consents.csv", "/admin/mandates/md_nosuchmandate"} {
				p := b.Get(e.URL + path).Expect(http.StatusSeeOther)
				if loc := p.Location(); loc != e.URL+"/admin/login?next="+url.QueryEscape(path) {
					t.Errorf("GET %s sent to %s", path, loc)
				}
				if strings.Contains(p.Body, "ada@example.com") || strings.Contains(p.Body, "Coffee Club") || strings.Contains(p.Body, m.PaymentMethodID) {
					t.Errorf("GET %s shows the mandate: %s", path, p.Body)
				}
			}
			charge := chargeForm(page, "12.00")
			revoke := revokeNow(page)
			for _, req := range []*http.Request{charge, revoke} {
				p := b.Do(req).Expect(http.StatusSeeOther)
				if loc := p.Location(); loc != e.URL+"/admin/login?next=%2Fadmin" {
					t.Errorf("POST %s sent to %s", req.URL.Path, loc)
				}
			}
			// The shopper's own page is theirs; the dashboard's is not.
			if b == shopper {
				b.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK)
			}
		})
	}
	if got := e.merchantCharges(m.ID); len(got) != 0 {
		t.Errorf("charges written without a login: %+v", got)
	}
	if got := calls.list(); len(got) != 0 {
		t.Errorf("provider called without a login: %v", got)
	}
	e.mandate(m.ID, mandate.Active)
}

// The admin session is its own cookie: HttpOnly, SameSite=Strict, expiring;
// logging out ends it for good, so the old cookie opens nothing.
func TestAdminLoginAndLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	// A page asked for before the login is where the login leads.
	to := b.Get(e.URL + "/admin?status=active").Expect(http.StatusSeeOther).Location()
	loginPage := b.Get(to).Expect(http.StatusOK)
	resp := b.Do(loginPage.Submit("", "/admin/login", url.Values{"password": {adminPassword}})).Expect(http.StatusSeeOther)
	if loc := resp.Location(); loc != e.URL+"/admin?status=active" {
		t.Errorf("after login sent to %s", loc)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: resp.Header}).Cookies() {
		if c.Name == "storefront_admin" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value == "" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode ||
		cookie.Path != "/" || cookie.MaxAge <= 0 {
		t.Fatalf("admin cookie = %+v; Set-Cookie %q", cookie, resp.Header.Values("Set-Cookie"))
	}
	list := b.Get(e.URL + "/admin").Expect(http.StatusOK)
	if list.Count("counts") != 1 {
		t.Fatalf("the list after login: %s", list.Text())
	}
	if cc := list.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("dashboard Cache-Control %q", cc)
	}
	// A login elsewhere must not redirect off the dashboard.
	other := pagetest.NewBrowser(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/admin", "/admin\\@evil.example"} {
		if loc := other.Post(e.URL+"/admin/login", url.Values{"password": {adminPassword}, "next": {next}}).Expect(http.StatusSeeOther).Location(); loc != e.URL+"/admin" {
			t.Errorf("next=%q led to %s", next, loc)
		}
	}

	out := b.Do(list.Submit("", "/admin/logout", nil)).Expect(http.StatusSeeOther)
	if loc := out.Location(); loc != e.URL+"/admin/login" {
		t.Errorf("after logout sent to %s", loc)
	}
	b.Get(e.URL + "/admin").Expect(http.StatusSeeOther)

	// The old cookie, kept by someone, no longer works.
	replay := pagetest.NewBrowser(t)
	replay.Client.Jar.SetCookies(mustURL(t, e.URL), []*http.Cookie{{Name: "storefront_admin", Value: cookie.Value}})
	if p := replay.Get(e.URL + "/admin"); p.Status != http.StatusSeeOther || !strings.Contains(p.Location(), "/admin/login") {
		t.Errorf("the logged-out cookie still opens the dashboard: %d", p.Status)
	}
	if got := e.count(`SELECT count(*) FROM admin_sessions`); got != 3 { // the other browser's three
		t.Errorf("%d admin sessions left, want the other browser's three only", got)
	}
}

// Failed logins are limited per client: after five, the client waits (429,
// with Retry-After), even with the right password; another client is not
// affected. Concurrent guesses get no more tries than sequential ones.
func TestAdminLoginFailuresAreLimitedPerClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	guess := func(b *pagetest.Browser, pw string) *pagetest.Page {
		return b.Post(e.URL+"/admin/login", url.Values{"password": {pw}})
	}
	b := pagetest.NewBrowser(t)
	for i := range 5 {
		guess(b, "guess"+itoa(int64(i))).Expect(http.StatusUnauthorized)
	}
	p := guess(b, "guess6").Expect(http.StatusTooManyRequests)
	if p.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	guess(b, adminPassword).Expect(http.StatusTooManyRequests)
	if got := e.count(`SELECT count(*) FROM admin_sessions`); got != 0 {
		t.Errorf("a locked-out client got a session")
	}

	// Another client (another loopback address) logs in as usual.
	other := fromAddr(t, "127.0.0.2")
	guess(other, "wrong").Expect(http.StatusUnauthorized)
	guess(other, adminPassword).Expect(http.StatusSeeOther)

	// Many guesses at once from a third client: at most five are checked.
	third := fromAddr(t, "127.0.0.3")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 40 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, e.URL+"/admin/login",
				strings.NewReader(url.Values{"password": {"parallel" + itoa(int64(i))}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := third.Client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusUnauthorized] > 5 || statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != 40 {
		t.Errorf("40 concurrent wrong passwords: %v; want at most 5 checked (401), the rest 429", statuses)
	}

	// Nor do slow ones: ten logins whose bodies arrive only once all ten
	// have started (an attacker holding connections open) get no more.
	addr := strings.TrimPrefix(e.URL, "http://")
	body := func(i int) string { return url.Values{"password": {"slow" + itoa(int64(i))}}.Encode() }
	conns := make([]net.Conn, 10)
	for i := range conns {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /admin/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			addr, len(body(i)), body(i)[:3])
		conns[i] = c
	}
	time.Sleep(100 * time.Millisecond) // every request is in its handler, waiting for its body
	slow := map[int]int{}
	for i, c := range conns {
		io.WriteString(c, body(i)[3:])
	}
	for _, c := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		slow[resp.StatusCode]++
	}
	if slow[http.StatusUnauthorized] > 5 {
		t.Errorf("10 slow wrong passwords: %v; want at most 5 checked (401), the rest 429", slow)
	}
}

// fromAddr is a browser whose connections come from another loopback
// address, so the app sees another client.
func fromAddr(t *testing.T, ip string) *pagetest.Browser {
	t.Helper()
	b := pagetest.NewBrowser(t)
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	b.Client = &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: b.Client.CheckRedirect,
	}
	t.Cleanup(b.Client.CloseIdleConnections)
	return b
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// mustForm reads the form a request carries.
func mustForm(t *testing.T, req *http.Request) url.Values {
	t.Helper()
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	return req.PostForm
}

// postForm is a form POST to rawURL, as a browser sends it.
func postForm(t *testing.T, rawURL string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
