package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/notify"
	"example.com/storefront/shopperlink"
	"example.com/storefront/store"
)

// A link in an old email still helps: genuine but expired, it opens a page
// that offers to email a fresh link to the subscription's own address
// (masked, not editable); pressing sends one message per 10 minutes, to
// that address only.
func TestExpiredLinkOffersAFreshOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, _ := e.activeMandate("stripe")
	if m.Customer.Email != "ada@example.com" {
		t.Fatalf("the test mandate's email is %q", m.Customer.Email)
	}
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	sig := linkSig(m.ID, past)
	stranger := pagetest.NewBrowser(t)

	offer := stranger.Get(e.URL + "/mandates/" + m.ID + "?e=" + past + "&s=" + sig).Expect(http.StatusOK)
	if offer.TestIDAttr("shopper-link", "data-sent") != "false" || offer.Count("send-link-form") != 1 {
		t.Fatalf("no offer of a fresh link: %s", offer.Text())
	}
	if got, _ := offer.TestID("masked-email"); got != "a•••@example.com" {
		t.Errorf("the address shown is %q", got)
	}
	if strings.Contains(offer.Body, "ada@example.com") || offer.Count("cancel-form") != 0 || offer.Count("shopper-status") != 0 {
		t.Errorf("an expired link shows the subscription: %s", offer.Text())
	}
	if n := strings.Count(offer.Body, "<input"); n != 2 || strings.Count(offer.Body, `type="hidden"`) != 2 {
		t.Errorf("the offer has %d inputs; want only the link's two hidden fields", n)
	}
	if !strings.Contains(offer.Text(), "10 minutes") {
		t.Errorf("the offer does not say how often a link is sent: %s", offer.Text())
	}
	if got := linkMessages(e, m.ID); len(got) != 0 {
		t.Fatalf("a link was sent before it was asked for: %+v", got)
	}

	send := offer.Submit("", "/link", url.Values{"email": {"eve@example.com"}})
	sent := stranger.Do(send).Expect(http.StatusOK)
	if sent.TestIDAttr("shopper-link", "data-sent") != "true" {
		t.Fatalf("after pressing: %s", sent.Text())
	}
	if got, _ := sent.TestID("link-sent"); got != "We have sent a fresh link to a•••@example.com." {
		t.Errorf("sent page says %q", got)
	}
	// Pressed twice (or reloaded): still one message.
	stranger.Do(offer.Submit("", "/link", nil)).Expect(http.StatusOK)
	msgs := linkMessages(e, m.ID)
	if len(msgs) != 1 {
		t.Fatalf("%d link messages, want 1: %+v", len(msgs), msgs)
	}
	got := msgs[0]
	if got.To != "ada@example.com" || got.Status == store.MessageFailed || !strings.HasPrefix(got.Key, "mandate/"+m.ID+"/link/") {
		t.Errorf("the message: %+v", got)
	}
	var data store.LinkData
	if err := json.Unmarshal(got.Data, &data); err != nil || time.Since(data.At).Abs() > time.Minute {
		t.Errorf("its data %s (%v): want the real time it was asked", got.Data, err)
	}

	// The email it becomes has a link that opens the page, in yet another
	// browser: the emails sign links as the pages check them.
	mail, err := notify.New(notify.Config{
		Merchant: "Northwind Coffee", Contact: "support@northwind.example", BaseURL: e.URL,
		Links: shopperlink.New([]byte(strings.Repeat("l", 32)), shopperlink.DefaultTTL),
	}).Render(e.mandate(m.ID, mandate.Active), got)
	if err != nil {
		t.Fatal(err)
	}
	fresh := ""
	for line := range strings.Lines(mail.Text) {
		if strings.HasPrefix(line, e.URL+"/mandates/"+m.ID+"?") {
			fresh = strings.TrimSpace(line)
		}
	}
	if fresh == "" {
		t.Fatalf("no link in the email:\n%s", mail.Text)
	}
	page := pagetest.NewBrowser(t).Get(fresh).Expect(http.StatusOK)
	if status, _ := page.TestID("shopper-status"); status != "active" || page.Count("cancel-form") != 1 {
		t.Errorf("the fresh link opens status %q, %d cancel forms", status, page.Count("cancel-form"))
	}
}

// Only a genuine link has a fresh one sent: a tampered one is the 404, and
// writes nothing.
func TestFreshLinkNeedsAGenuineLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, _ := e.activeMandate("ppro")
	other, _ := e.activeMandate("ppro")
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	sig := linkSig(m.ID, past)
	stranger := pagetest.NewBrowser(t)
	for name, form := range map[string]url.Values{
		"signature changed":   {"e": {past}, "s": {flip(sig)}},
		"expiry moved":        {"e": {strconv.FormatInt(mustInt(t, past)+86400*60, 10)}, "s": {sig}},
		"another mandate's":   {"e": {past}, "s": {linkSig(other.ID, past)}},
		"no signature":        {"e": {past}},
		"garbage":             {"e": {"yesterday"}, "s": {sig}},
		"signature shortened": {"e": {past}, "s": {sig[:20]}},
	} {
		p := stranger.Do(postForm(t, e.URL+"/mandates/"+m.ID+"/link", form))
		if p.Status != http.StatusNotFound || strings.Contains(p.Body, "•••") {
			t.Errorf("%s: answered %d", name, p.Status)
		}
		q := "?e=" + url.QueryEscape(form.Get("e")) + "&s=" + url.QueryEscape(form.Get("s"))
		if p := stranger.Get(e.URL + "/mandates/" + m.ID + q); p.Status != http.StatusNotFound {
			t.Errorf("%s: GET answered %d", name, p.Status)
		}
	}
	if p := stranger.Do(postForm(t, e.URL+"/mandates/nope/link", url.Values{"e": {past}, "s": {linkSig("nope", past)}})); p.Status != http.StatusNotFound {
		t.Errorf("a genuine link to no mandate: %d", p.Status)
	}
	if got := linkMessages(e, m.ID); len(got) != 0 {
		t.Errorf("a bad link had a link sent: %+v", got)
	}

	// A fresh valid link still opens the page itself.
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	page := stranger.Get(e.URL + "/mandates/" + m.ID + "?e=" + exp + "&s=" + linkSig(m.ID, exp)).Expect(http.StatusOK)
	if got, _ := page.TestID("shopper-status"); got != "active" || page.Count("shopper-link") != 0 {
		t.Errorf("a valid link: status %q, %d offers", got, page.Count("shopper-link"))
	}
	e.mandate(m.ID, mandate.Active)
}

// linkMessages are the fresh-link messages in the outbox for a mandate.
func linkMessages(e *env, mandateID string) []store.Message {
	e.t.Helper()
	all, err := e.Store.Messages(context.Background(), mandateID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.Message
	for _, m := range all {
		if m.Kind == store.MsgLink {
			out = append(out, m)
		}
	}
	return out
}
