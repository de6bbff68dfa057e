package notify_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"example.com/storefront/mandate"
	"example.com/storefront/notify"
	"example.com/storefront/payments"
	"example.com/storefront/shopperlink"
	"example.com/storefront/store"
	"example.com/storefront/terms"
)

const base = "https://shop.example"

var (
	links   = shopperlink.New([]byte(strings.Repeat("l", 32)), 30*24*time.Hour)
	realNow = time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
)

func renderer() *notify.Renderer {
	return notify.New(notify.Config{
		Merchant: "Northwind Coffee", Contact: "support@northwind.example", BaseURL: base + "/",
		Links: links, Now: func() time.Time { return realNow },
	})
}

func usd(cents int64) payments.Money { return payments.Money{Amount: cents, Currency: "USD"} }

// activeMandate is a mandate as the store reads it, with the consent a
// shopper gave to the terms v2.
func activeMandate(t *testing.T) store.Mandate {
	t.Helper()
	plan := payments.Plan{Name: "Coffee Club", Price: usd(1200), Interval: payments.Month}
	doc, err := terms.Render("v2", "Northwind Coffee", "support@northwind.example", plan)
	if err != nil {
		t.Fatal(err)
	}
	return store.Mandate{
		ID: "m_7f3a", Customer: store.Customer{Email: "ada@example.com", Name: "Ada Lovelace"},
		Provider: "ppro", Status: mandate.Active, PaymentMethodType: "AMAZON_PAY", Plan: plan,
		Consent: store.Consent{Merchant: "Northwind Coffee", Contact: "support@northwind.example", TermsVersion: "v2",
			TermsSHA256: doc.SHA256, Authorization: doc.Authorization},
		ConfirmedAt: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC),
	}
}

func message(t *testing.T, kind string, data any) store.Message {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return store.Message{ID: 1, Key: "mandate/m_7f3a/" + kind, Kind: kind, MandateID: "m_7f3a", To: "ada@example.com", Data: raw}
}

var (
	jan6  = time.Date(2027, 1, 6, 10, 0, 0, 0, time.UTC)
	feb6  = time.Date(2027, 2, 6, 10, 0, 0, 0, time.UTC)
	dec9  = time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)
	dec20 = time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
)

// Every kind of message renders, and says what matters in both parts:
// the amounts, the dates, who did it, what happens next.
func TestEveryKindSaysWhatMatters(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind    string
		data    any
		subject string   // in the subject
		words   []string // in the text and the HTML
	}{
		{store.MsgConfirmed, store.ConfirmedData{At: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}, "is set up",
			[]string{"Coffee Club", "12.00 USD every month", "Amazon Pay account, through PPRO", "6 December 2026", "m_7f3a",
				"The terms you agreed to (version v2)", "I authorise Northwind Coffee to charge 12.00 USD every month for Coffee Club",
				"we will tell you by email at least 14 days before the first payment at the new price"}},
		{store.MsgReceipt, store.ReceiptData{ChargeID: 41, Amount: usd(1200), PaidAt: jan6, Period: 2, NextAt: feb6, NextAmount: usd(1200)},
			"12.00 USD", []string{"12.00 USD", "6 January 2027", "Next payment", "12.00 USD on 6 February 2027", "payment 41"}},
		{store.MsgDeclined, store.DeclinedData{ChargeID: 42, Period: 2, Amount: usd(1200), Failures: 1,
			Reason: "The payment method was declined.", RetryAt: dec9}, "declined",
			[]string{"12.00 USD", "The reason given: The payment method was declined.", "We will try again on 9 December 2026",
				"make sure your Amazon Pay account can pay", "cancel your subscription on its page"}},
		{store.MsgEnded, store.EndedData{Period: 2, Amount: usd(1200), Failures: 4, At: dec20}, "has ended",
			[]string{"12.00 USD", "declined 4 times", "ended on 20 December 2026", "No further payment will be taken",
				"subscribe on our shop at " + base + "/"}},
		{store.MsgEnded, store.EndedData{Period: 3, Amount: usd(1200), At: dec20, NewPrice: usd(1500)}, "has ended",
			[]string{"approval is for exactly 12.00 USD", "is now 15.00 USD", "ended on 20 December 2026",
				"without taking a payment at the new price", "No further payment will be taken", "approve 15.00 USD"}},
		{store.MsgRevoked, store.RevokedData{By: payments.RevokedByShopper, At: dec9}, "is cancelled",
			[]string{"You cancelled your Coffee Club subscription on 9 December 2026", "Cancelled by: You",
				"No further payment will be taken"}},
		{store.MsgRevoked, store.RevokedData{By: payments.RevokedByMerchant, At: dec9}, "is cancelled",
			[]string{"Northwind Coffee cancelled your Coffee Club subscription on 9 December 2026", "Cancelled by: Northwind Coffee",
				"No further payment will be taken"}},
		{store.MsgRevoked, store.RevokedData{By: payments.RevokedByProvider, At: dec9}, "is cancelled",
			[]string{"Amazon Pay or the payment provider (PPRO) withdrew the permission", "Cancelled by: Amazon Pay or PPRO",
				"No further payment will be taken"}},
		{store.MsgRefund, store.RefundData{RefundID: 3, ChargeID: 41, Amount: usd(500), ChargeAmount: usd(1200), PaidAt: jan6, At: feb6},
			"Refund of 5.00 USD", []string{"refunded 5.00 USD of your payment of 12.00 USD taken on 6 January 2027",
				"on 6 February 2027", "some days to appear"}},
		{store.MsgRefund, store.RefundData{RefundID: 4, ChargeID: 41, Amount: usd(500), ChargeAmount: usd(1200), PaidAt: jan6, At: feb6,
			Reason: "duplicate"}, "Refund of 5.00 USD", []string{"Reason: A payment taken twice"}},
		{store.MsgCancelScheduled, store.CancelScheduledData{At: jan6, EndsAt: feb6}, "ends on 6 February 2027",
			[]string{"at the end of the period you have paid for, on 6 February 2027", "no further payment will be taken",
				"Active until: 6 February 2027"}},
		{store.MsgDispute, store.DisputeData{DisputeID: 2, ChargeID: 41, Amount: usd(1200), PaidAt: jan6, Reason: "fraudulent"},
			"disputed", []string{"12.00 USD taken on 6 January 2027", "you did not recognise or authorise the payment",
				"Northwind Coffee will reply to the dispute through the payment provider (PPRO)", "support@northwind.example"}},
		{store.MsgPriceChange, store.PriceChangeData{ChangeID: 1, Old: usd(1200), New: usd(1500), EffectiveAt: jan6, FirstAt: feb6},
			"from 12.00 USD to 15.00 USD", []string{"changes from 12.00 USD to 15.00 USD per month", "on or after 6 January 2027",
				"Your first payment at the new price, 15.00 USD, is due on 6 February 2027", "cancel before 6 February 2027"}},
		{store.MsgPriceChange, store.PriceChangeData{ChangeID: 1, Old: usd(1200), New: usd(1500), EffectiveAt: jan6, FirstAt: feb6,
			EndsAgreement: true}, "from 12.00 USD to 15.00 USD",
			[]string{"states the amount of 12.00 USD exactly", "your subscription ends before 6 February 2027",
				"no payment is ever taken at 15.00 USD", "subscribe again on our shop at " + base + "/"}},
		{store.MsgLink, store.LinkData{At: dec9}, "Your link", []string{"fresh link", "9 December 2026",
			"went only to the address your subscription was set up with"}},
	} {
		t.Run(c.kind, func(t *testing.T) {
			m := activeMandate(t)
			msg := message(t, c.kind, c.data)
			out, err := renderer().Render(m, msg)
			if err != nil {
				t.Fatal(err)
			}
			if out.To != "ada@example.com" || out.Key != msg.Key || out.From != "" {
				t.Errorf("To %q Key %q From %q", out.To, out.Key, out.From)
			}
			if !strings.Contains(out.Subject, c.subject) {
				t.Errorf("subject %q, want %q in it", out.Subject, c.subject)
			}
			htmlText, hrefs := readHTML(t, out.HTML)
			text := squash(out.Text)
			common := []string{"Northwind Coffee", "support@northwind.example", "Dear Ada Lovelace,", "You receive this email because"}
			for _, w := range append(common, c.words...) {
				if !strings.Contains(text, w) {
					t.Errorf("the text part lacks %q:\n%s", w, out.Text)
				}
				if !strings.Contains(htmlText, w) {
					t.Errorf("the HTML part lacks %q:\n%s", w, htmlText)
				}
			}
			for _, word := range []string{"canceled", "{{", "<no value>", "0001"} {
				if strings.Contains(text, word) || strings.Contains(htmlText, word) {
					t.Errorf("the message says %q", word)
				}
			}
			// Every link is absolute; the one to the shopper's page opens
			// it, signed for this mandate until 30 days from now.
			page := 0
			for _, h := range hrefs {
				if strings.HasPrefix(h, "mailto:") {
					continue
				}
				if !strings.HasPrefix(h, base+"/") {
					t.Errorf("link %q is not absolute on %s", h, base)
				}
				if strings.HasPrefix(h, base+"/mandates/") {
					page++
					signedFor(t, h, m.ID)
					if !strings.Contains(out.Text, h) {
						t.Errorf("the text part lacks the link %s", h)
					}
				}
			}
			if page == 0 {
				t.Errorf("no link to the shopper's page in %v", hrefs)
			}
		})
	}
}

// signedFor checks that link opens mandate id's page now, and no longer
// after 30 days of real time.
func signedFor(t *testing.T, link, id string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/mandates/"+id {
		t.Errorf("link %s is to %s", link, u.Path)
	}
	e, s := u.Query().Get("e"), u.Query().Get("s")
	if ok, _ := links.Check(id, e, s, realNow); !ok {
		t.Errorf("link %s does not verify", link)
	}
	if ok, expired := links.Check(id, e, s, realNow.Add(30*24*time.Hour+time.Minute)); ok || !expired {
		t.Errorf("link %s after 30 days: ok %v expired %v", link, ok, expired)
	}
}

// A shopper's name is theirs to choose: in the HTML part it is text,
// never markup.
func TestTheShoppersNameIsEscaped(t *testing.T) {
	t.Parallel()
	m := activeMandate(t)
	m.Customer.Name = `Eve <img src=x onerror=alert(1)> "&" <b>`
	out, err := renderer().Render(m, message(t, store.MsgReceipt,
		store.ReceiptData{ChargeID: 1, Amount: usd(1200), PaidAt: jan6, Period: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.HTML, "<img") || strings.Contains(out.HTML, "<b>") {
		t.Errorf("the name is markup in the HTML:\n%s", out.HTML)
	}
	text, _ := readHTML(t, out.HTML)
	if !strings.Contains(text, `Dear Eve <img src=x onerror=alert(1)> "&" <b>,`) {
		t.Errorf("the name does not read as typed: %s", text)
	}
	if !strings.Contains(out.Text, "None: no further payment is scheduled.") {
		t.Errorf("a receipt without a next payment says: %s", out.Text)
	}
}

// A message the renderer cannot write is an error (the deliverer marks it
// failed), never an email with blanks.
func TestWhatCannotBeRenderedIsAnError(t *testing.T) {
	t.Parallel()
	m := activeMandate(t)
	for name, msg := range map[string]store.Message{
		"unknown kind":     message(t, "birthday", store.LinkData{At: dec9}),
		"not JSON":         {Key: "k", Kind: store.MsgReceipt, To: "ada@example.com", Data: json.RawMessage(`{"amount":`)},
		"wrong types":      {Key: "k", Kind: store.MsgDeclined, To: "ada@example.com", Data: json.RawMessage(`{"retry_at":"soon"}`)},
		"no data":          {Key: "k", Kind: store.MsgRefund, To: "ada@example.com", Data: json.RawMessage(`{}`)},
		"revoked by whom?": message(t, store.MsgRevoked, store.RevokedData{By: "someone", At: dec9}),
	} {
		if out, err := renderer().Render(m, msg); err == nil {
			t.Errorf("%s: rendered %q", name, out.Subject)
		}
	}
}

// readHTML returns the HTML's text as a reader sees it (whitespace
// squashed) and its links.
func readHTML(t *testing.T, s string) (string, []string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var hrefs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style"):
			t.Errorf("the HTML has a <%s>", n.Data)
			return
		case n.Type == html.ElementNode && n.Data == "title":
			return
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode:
			for _, a := range n.Attr {
				if a.Key == "href" {
					hrefs = append(hrefs, a.Val)
				}
			}
			b.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode && n.Data == "td" {
			b.WriteString(": ") // a fact's label and value read as "Label: value"
		}
	}
	walk(doc)
	return squash(b.String()), hrefs
}

var spaces = regexp.MustCompile(`\s+`)

func squash(s string) string {
	s = spaces.ReplaceAllString(s, " ")
	s = strings.ReplaceAll(s, " :", ":")
	return s
}

// A fresh link to a cancelled subscription's page offers what the page
// offers: its payments, not a cancellation.
func TestALinkToACancelledSubscription(t *testing.T) {
	t.Parallel()
	m := activeMandate(t)
	for status, want := range map[mandate.Status]bool{mandate.Active: true, mandate.Revoked: false} {
		m.Status = status
		out, err := renderer().Render(m, message(t, store.MsgLink, store.LinkData{At: dec9}))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out.Text, "cancel at any time"); got != want {
			t.Errorf("%s: offers to cancel %v, want %v", status, got, want)
		}
	}
}
