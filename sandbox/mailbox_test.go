package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox/mailbox"
	"example.com/storefront/sandbox/sandboxtest"
)

// receipt is a message as the storefront will send one: an HTML part with
// inline styles (and, here, a script that must never run) and its text.
func receipt(key, to string) mailbox.Message {
	return mailbox.Message{
		Key:     key,
		From:    "Acme Coffee Club <shop@acme.example>",
		To:      to,
		Subject: "Your receipt: €12.00 for Acme Coffee Club",
		Text:    "Hello Ada,\n\nwe took €12.00 for your monthly coffee on 6 Dec 2026.\nYour next payment is on 6 Jan 2027.\n",
		HTML: `<!DOCTYPE html><html><head><title>Receipt</title></head><body style="font-family:sans-serif">` +
			`<h1 style="color:#333">Thank you, Ada</h1><p>We took <strong>€12.00</strong> on 6 Dec 2026.</p>` +
			`<script>parent.document.title = "pwned"</script><a href="http://shop.example/mandates/x">Your page</a></body></html>`,
		Headers: map[string]string{"Auto-Submitted": "auto-generated", "List-Unsubscribe": "<http://shop.example/mandates/x>"},
	}
}

// postMail sends a delivery as a standalone sandbox's instance would.
func postMail(e *sandboxtest.Env, auth string, body string) *pagetest.Page {
	e.Browser.Client.Timeout = 30 * time.Second
	h := http.Header{"Content-Type": {"application/json"}}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	req, err := http.NewRequest(http.MethodPost, e.BaseURL+"/sandbox/mail/messages", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header = h
	return e.Browser.Do(req)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The same message delivered again (a retried outbox delivery, over HTTP
// or in process) is kept once.
func TestMailIsKeptOncePerKey(t *testing.T) {
	t.Parallel()
	e := sandboxtest.New(t)
	msg := receipt("receipt/pi_123", "Ada Lovelace <ada@example.com>")

	first := postMail(e, "Bearer "+sandboxtest.StripeKey, jsonOf(t, msg)).Expect(http.StatusCreated)
	var d1 mailbox.Delivery
	if err := json.Unmarshal([]byte(first.Body), &d1); err != nil || d1.ID == 0 || d1.Duplicate {
		t.Fatalf("first delivery: %s (%v)", first.Body, err)
	}
	if want := fmt.Sprintf("%s/mail/%d", e.Public, d1.ID); d1.URL != want {
		t.Errorf("url %q, want %q", d1.URL, want)
	}
	if !d1.ReceivedAt.Equal(e.Clock.Now()) {
		t.Errorf("received at %v, want the sandbox's clock %v", d1.ReceivedAt, e.Clock.Now())
	}

	e.Clock.Advance(time.Hour)
	changed := msg
	changed.Subject = "Another subject"
	again := postMail(e, "Bearer "+sandboxtest.StripeKey, jsonOf(t, changed)).Expect(http.StatusOK)
	var d2 mailbox.Delivery
	if err := json.Unmarshal([]byte(again.Body), &d2); err != nil {
		t.Fatal(err)
	}
	if d2.ID != d1.ID || !d2.Duplicate || !d2.ReceivedAt.Equal(d1.ReceivedAt) {
		t.Errorf("second delivery %+v, want the first's %+v marked duplicate", d2, d1)
	}
	d3, err := e.Sandbox.Mailbox().Deliver(context.Background(), msg)
	if err != nil || d3.ID != d1.ID || !d3.Duplicate {
		t.Errorf("in-process delivery of the same key: %+v, %v", d3, err)
	}

	other, err := e.Sandbox.Mailbox().Deliver(context.Background(), receipt("receipt/pi_456", "ada@example.com"))
	if err != nil || other.Duplicate || other.ID == d1.ID {
		t.Fatalf("another key: %+v, %v", other, err)
	}
	list := e.Get("/sandbox/mail").Expect(http.StatusOK)
	if n := list.Count("mail-row"); n != 2 {
		t.Errorf("the mailbox lists %d messages, want 2:\n%s", n, list.Text())
	}
	kept, err := e.Sandbox.Mailbox().Get(context.Background(), d1.ID)
	if err != nil || kept.Subject != msg.Subject {
		t.Errorf("kept %+v (%v), want the first delivery's subject", kept, err)
	}
}

// Only the storefront, which holds the sandbox's key, delivers.
func TestMailDeliveryNeedsTheKey(t *testing.T) {
	t.Parallel()
	e := sandboxtest.New(t)
	body := jsonOf(t, receipt("k1", "ada@example.com"))
	for _, auth := range []string{"", "Bearer sk_test_wrong", "Basic " + sandboxtest.StripeKey, "Bearer " + sandboxtest.StripeKey + "x", "Bearer"} {
		res := postMail(e, auth, body)
		if res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "bearer token") {
			t.Errorf("Authorization %q: %d %s, want 401", auth, res.Status, res.Body)
		}
		if res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: no WWW-Authenticate", auth)
		}
	}
	if _, ok := e.Get("/sandbox/mail").TestID("mail-empty"); !ok {
		t.Error("a refused delivery was stored")
	}
}

// A delivery the mailbox cannot show as an email is refused, saying why.
func TestMailRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := sandboxtest.New(t)
	auth := "Bearer " + sandboxtest.StripeKey
	good := receipt("k", "ada@example.com")
	with := func(f func(*mailbox.Message)) string {
		m := good
		f(&m)
		return jsonOf(t, m)
	}
	for _, tc := range []struct {
		name, body, want string
		code             int
	}{
		{"no key", with(func(m *mailbox.Message) { m.Key = "" }), "key is required", 400},
		{"no from", with(func(m *mailbox.Message) { m.From = " " }), "from is required", 400},
		{"no to", with(func(m *mailbox.Message) { m.To = "" }), "to is required", 400},
		{"no subject", with(func(m *mailbox.Message) { m.Subject = "" }), "subject is required", 400},
		{"no text", with(func(m *mailbox.Message) { m.Text = "" }), "text is required", 400},
		{"two recipients", with(func(m *mailbox.Message) { m.To = "a@example.com, b@example.com" }), "not one email address", 400},
		{"not an address", with(func(m *mailbox.Message) { m.To = "ada" }), "not one email address", 400},
		{"header injection", with(func(m *mailbox.Message) { m.Subject = "Hi\r\nBcc: eve@example.com" }), "subject contains a line break", 400},
		{"injection in a header", with(func(m *mailbox.Message) { m.Headers = map[string]string{"X-A": "b\r\nBcc: eve@example.com"} }), "header X-A contains a line break", 400},
		{"bad header name", with(func(m *mailbox.Message) { m.Headers = map[string]string{"X A:": "b"} }), "not a header field name", 400},
		{"Date as a header", with(func(m *mailbox.Message) { m.Headers = map[string]string{"date": "yesterday"} }), "send it as its own field", 400},
		{"too long a key", with(func(m *mailbox.Message) { m.Key = strings.Repeat("k", 256) }), "key is longer than 255", 400},
		{"bodies over 1 MiB", with(func(m *mailbox.Message) { m.Text = strings.Repeat("a", 600<<10); m.HTML = strings.Repeat("b", 500<<10) }), "more than 1048576", 400},
		{"not JSON", "key=k", "want a JSON object", 400},
		{"unknown field", `{"key":"k","from":"a@example.com","to":"b@example.com","subject":"s","text":"t","cc":"c@example.com"}`, "unknown field", 400},
		{"request over 4 MiB", `{"key":"k","text":"` + strings.Repeat("a", 4<<20) + `"}`, "larger than", 413},
	} {
		res := postMail(e, auth, tc.body)
		if res.Status != tc.code || !strings.Contains(res.Body, tc.want) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.name, res.Status, res.Body, tc.code, tc.want)
		}
	}
	if _, err := e.Sandbox.Mailbox().Deliver(context.Background(), mailbox.Message{Key: "k"}); err == nil {
		t.Error("in process: an empty message was delivered")
	}
	if _, ok := e.Get("/sandbox/mail").TestID("mail-empty"); !ok {
		t.Error("a refused delivery was stored")
	}
	// A message without an HTML part is a plain-text email.
	postMail(e, auth, with(func(m *mailbox.Message) { m.HTML = "" })).Expect(http.StatusCreated)
}

// The mailbox lists the last delivered first, filters by recipient
// (whatever the case of the address) and pages by keyset.
func TestMailListOrderFilterAndPages(t *testing.T) {
	t.Parallel()
	e := sandboxtest.New(t)
	empty := e.Get("/sandbox/mail").Expect(http.StatusOK)
	if s, ok := empty.TestID("mail-empty"); !ok || !strings.Contains(s, "No messages yet") || !strings.Contains(s, "Messages appear here as the shop sends them") {
		t.Errorf("empty mailbox says %q", s)
	}
	index := e.Get("/sandbox/").Expect(http.StatusOK)
	if href := index.TestIDAttr("mailbox-link", "href"); href != "/sandbox/mail" {
		t.Errorf("the index links the mailbox at %q", href)
	}

	mb := e.Sandbox.Mailbox()
	var ada, all []string // message paths, newest first
	e.Clock.Advance(24 * time.Hour)
	for i := 1; i <= 53; i++ {
		to := "bob@example.com"
		if i%3 != 0 {
			to = "Ada Lovelace <ada@example.com>"
		}
		m := receipt(fmt.Sprintf("m%d", i), to)
		m.Subject = fmt.Sprintf("Message %d", i)
		d, err := mb.Deliver(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/sandbox/mail/%d", d.ID)
		all = slices.Insert(all, 0, path)
		if i%3 != 0 {
			ada = slices.Insert(ada, 0, path)
		}
		// The demo clock set back does not reorder the mailbox.
		e.Clock.Advance(-time.Minute)
	}

	first := e.Get("/sandbox/mail").Expect(http.StatusOK)
	if got := first.AllTestIDAttr("mail-link", "href"); !slices.Equal(got, all[:50]) {
		t.Errorf("first page %v, want %v", got, all[:50])
	}
	if _, ok := first.TestID("mail-newest"); ok {
		t.Error("the first page links to a newer page")
	}
	older := first.TestIDAttr("mail-older", "href")
	if older == "" {
		t.Fatal("the first page of 53 has no link to older messages")
	}
	second := e.Get(older).Expect(http.StatusOK)
	if got := second.AllTestIDAttr("mail-link", "href"); !slices.Equal(got, all[50:]) {
		t.Errorf("second page %v, want %v", got, all[50:])
	}
	if _, ok := second.TestID("mail-older"); ok {
		t.Error("the last page links to an older one")
	}
	if second.TestIDAttr("mail-newest", "href") != "/sandbox/mail" {
		t.Error("the second page does not link back to the newest")
	}

	filtered := e.Get("/sandbox/mail?to=" + url.QueryEscape("ADA@example.com")).Expect(http.StatusOK)
	if got := filtered.AllTestIDAttr("mail-link", "href"); !slices.Equal(got, ada) {
		t.Errorf("ada's messages %v, want %v", got, ada)
	}
	if !strings.Contains(filtered.Text(), "Ada Lovelace <ada@example.com>") || strings.Contains(filtered.Text(), "bob@example.com") {
		t.Errorf("ada's page:\n%s", filtered.Text())
	}
	if filtered.InputValue("to") != "ADA@example.com" {
		t.Errorf("the filter shows %q", filtered.InputValue("to"))
	}
	nobody := e.Get("/sandbox/mail?to=eve@example.com").Expect(http.StatusOK)
	if s, _ := nobody.TestID("mail-empty"); !strings.Contains(s, "No messages to eve@example.com") {
		t.Errorf("no messages to eve: %q", s)
	}
	e.Get("/sandbox/mail?before=x").Expect(http.StatusBadRequest)

	// The Go API pages the same way.
	p, err := mb.List(context.Background(), mailbox.Query{To: "bob@example.com", Limit: 10})
	if err != nil || len(p.Messages) != 10 || p.Next == 0 {
		t.Fatalf("bob's first 10: %d messages, next %d, %v", len(p.Messages), p.Next, err)
	}
	rest, err := mb.List(context.Background(), mailbox.Query{To: "bob@example.com", Before: p.Next, Limit: 10})
	if err != nil || len(rest.Messages) != 7 || rest.Next != 0 || rest.Messages[0].ID >= p.Next {
		t.Errorf("bob's rest: %+v, %v", rest, err)
	}
}

// A message's page shows its headers and both parts; its HTML part runs
// no script, loads nothing and may be framed only by the sandbox.
func TestMailMessagePage(t *testing.T) {
	t.Parallel()
	e := sandboxtest.New(t)
	msg := receipt("receipt/1", "Ada Lovelace <ada@example.com>")
	d, err := e.Sandbox.Mailbox().Deliver(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/sandbox/mail/%d", d.ID)

	page := e.Get(path).Expect(http.StatusOK)
	if s, _ := page.TestID("mail-subject"); s != msg.Subject {
		t.Errorf("subject %q", s)
	}
	headers, _ := page.TestID("mail-headers")
	for _, want := range []string{"From Acme Coffee Club <shop@acme.example>", "To Ada Lovelace <ada@example.com>", "Date " + d.ReceivedAt.Format("2 Jan 2006, 15:04 UTC")} {
		if !strings.Contains(headers, want) {
			t.Errorf("headers %q lack %q", headers, want)
		}
	}
	if s, _ := page.TestID("mail-extra-headers"); s != "Auto-Submitted auto-generated List-Unsubscribe <http://shop.example/mandates/x>" {
		t.Errorf("other headers %q", s)
	}
	if got := page.TestIDAttr("mail-html", "src"); got != path+"/html" {
		t.Errorf("the HTML part's frame shows %q", got)
	}
	// The frame is sandboxed: no allow-scripts, no allow-same-origin.
	sb := strings.Fields(page.TestIDAttr("mail-html", "sandbox"))
	if !strings.Contains(page.Body, " sandbox=") || slices.Contains(sb, "allow-scripts") || slices.Contains(sb, "allow-same-origin") {
		t.Errorf("the frame's sandbox is %q", sb)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("the message page's CSP %q does not allow (only) its own frames", csp)
	}
	if page.TestIDAttr("tab-html", "aria-current") != "page" {
		t.Error("the HTML part is not the part shown first")
	}

	text := e.Get(path + "?part=text").Expect(http.StatusOK)
	if s, _ := text.TestID("mail-text"); !strings.Contains(s, "we took €12.00 for your monthly coffee") {
		t.Errorf("text part %q", s)
	}
	if _, ok := text.TestID("mail-html"); ok || text.TestIDAttr("tab-text", "aria-current") != "page" {
		t.Error("the text tab shows the HTML part")
	}

	part := e.Get(path + "/html").Expect(http.StatusOK)
	csp := part.Header.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src":     "'none'", // no script-src: no script at all
		"img-src":         "data:",
		"style-src":       "'unsafe-inline'",
		"frame-ancestors": "'self'",
		"form-action":     "'none'",
		"sandbox":         "allow-popups allow-popups-to-escape-sandbox", // no allow-scripts, not same-origin
	} {
		if got, ok := directives[name]; !ok || got != want {
			t.Errorf("HTML part CSP %s = %q, want %q (CSP %q)", name, got, want, csp)
		}
	}
	if _, ok := directives["script-src"]; ok {
		t.Errorf("HTML part CSP names script-src: %q", csp)
	}
	if got := part.Header.Get("X-Frame-Options"); got != "SAMEORIGIN" {
		t.Errorf("X-Frame-Options %q", got)
	}
	if !strings.Contains(part.Body, `<head><base target="_blank"><title>Receipt</title>`) || !strings.Contains(part.Body, "<strong>€12.00</strong>") {
		t.Errorf("HTML part body:\n%s", part.Body)
	}

	// A text-only message shows its text; it has no HTML part to serve.
	plain := receipt("plain/1", "bob@example.com")
	plain.HTML = ""
	dp, err := e.Sandbox.Mailbox().Deliver(context.Background(), plain)
	if err != nil {
		t.Fatal(err)
	}
	pp := e.Get(fmt.Sprintf("/sandbox/mail/%d", dp.ID)).Expect(http.StatusOK)
	if s, _ := pp.TestID("mail-text"); !strings.Contains(s, "Hello Ada") {
		t.Errorf("a text-only message shows %q", s)
	}
	e.Get(fmt.Sprintf("/sandbox/mail/%d/html", dp.ID)).Expect(http.StatusNotFound)
	e.Get("/sandbox/mail/999999").Expect(http.StatusNotFound)
	e.Get("/sandbox/mail/abc").Expect(http.StatusNotFound)
}

// A long demo does not grow the mailbox for ever: it keeps the newest
// mailbox.Keep messages.
func TestMailKeepsTheNewest(t *testing.T) {
	t.Parallel()
	e := sandboxtest.New(t)
	mb := e.Sandbox.Mailbox()
	ctx := context.Background()
	var ids []int64
	for i := range mailbox.Keep + 2 {
		d, err := mb.Deliver(ctx, receipt(fmt.Sprintf("m%d", i), "ada@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	for _, id := range ids[:2] {
		if _, err := mb.Get(ctx, id); !errors.Is(err, mailbox.ErrNotFound) {
			t.Errorf("message %d, among the oldest, is still there (%v)", id, err)
		}
	}
	p, err := mb.List(ctx, mailbox.Query{Limit: mailbox.Keep + 10})
	if err != nil || len(p.Messages) != mailbox.Keep || p.Messages[len(p.Messages)-1].ID != ids[2] {
		t.Errorf("the mailbox holds %d messages (%v), want the newest %d", len(p.Messages), err, mailbox.Keep)
	}
	e.Get(fmt.Sprintf("/sandbox/mail/%d", ids[0])).Expect(http.StatusNotFound)
}
