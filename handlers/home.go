package handlers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"

	"example.com/storefront/compressed"
	"example.com/storefront/countries"
	"example.com/storefront/payments"
	"example.com/storefront/views"
)

// home shows the plan, the terms, the form and the opt-in. The empty page
// is the same for every new visitor at a given price, so it is served from
// bytes rendered and compressed once per price (homeCache), as cheaply as a
// handler that writes fixed bytes.
// "Try again" after a failed or cancelled setup comes back with
// ?again=<mandate id>: the form is filled in with what the shopper typed
// then (this browser's own mandate only), the opt-in left for them to tick.
func (h *handler) home(w http.ResponseWriter, r *http.Request) error {
	if id := again(r); id != "" && h.owns(r, id) {
		o, err := h.offer(r.Context())
		if err != nil {
			return err
		}
		if m, err := h.store.Mandate(r.Context(), id); err == nil {
			f := h.emptyForm(o)
			f.Name, f.Email, f.Country = m.Customer.Name, m.Customer.Email, m.Customer.Country
			if _, ok := h.providers[m.Provider]; ok {
				f.Provider = m.Provider
			}
			f.PayNow = m.FirstPayment != nil
			h.renderHome(w, r, http.StatusOK, o, f, nil)
			return nil
		}
	}
	page, err := h.emptyHome(r.Context())
	if err != nil {
		return err
	}
	hd := w.Header()
	hd["Content-Type"] = htmlType
	hd["Cache-Control"] = noStore
	body, _ := page.Negotiate(w, r)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// again is the ?again= of "Try again", without parsing a query that is not
// there (the common GET /).
func again(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get("again")
}

// Header values of the home page, shared rather than allocated per request
// (a header's value slice is only ever replaced, never appended to in place
// beyond its length).
var (
	htmlType = []string{"text/html; charset=utf-8"}
	noStore  = []string{"no-store"}
)

// homeCache is the empty home page at the price in effect, so that GET /
// reads no database on its common path.
//
// The price in effect changes in two ways only: a scheduled change's
// effective time passes on the clock of records, or a change is scheduled.
// A change is scheduled at least 14 days after the scheduler's now
// (store.SchedulePriceChange), so one this instance has not read yet can
// only be in effect after that clock has moved by weeks, which a demo's
// presenter does in one press (a month) and a reset undoes. So the price
// read is kept while the clock runs with real time (its lead on real time,
// now() - time.Now(), the same as when the price was read: any advance or
// reset, here or followed from another instance, shows as a jump and the
// next request reads again) and at most homeFresh of real time: the
// effective time of a change already scheduled passes with time alone, and
// is seen within homeFresh. That is as soon as another instance sees a
// demo clock move at all (worker.DemoFollowEvery), and a page loaded a
// moment before a change is refused at checkout anyway (its terms' hash no
// longer matches the price in effect; the checkout reads the price afresh).
type homeCache struct {
	configured *compressed.Body // at the configured price, rendered in New
	cur        atomic.Pointer[homeEntry]
}

type homeEntry struct {
	plan payments.Plan
	page *compressed.Body
	lead time.Duration // now() - time.Now() when the price was read
	read time.Time     // time.Now() then
}

// homeFresh is how long a price read is kept while the clock runs on with
// real time.
const homeFresh = 500 * time.Millisecond

// clockJump is how far the clock's lead on real time may differ from the
// lead when the price was read before it counts as a move. A move that
// matters is weeks (a change is scheduled 14 days ahead at least); the
// margin only absorbs the time between reading the two clocks.
const clockJump = time.Millisecond

// emptyHome is the empty home page at the price in effect: the cached one
// while it holds (see homeCache), else read and, for a new price, rendered
// and compressed. Concurrent requests that find it stale each read the
// price: a query each, at most once per homeFresh, no lock to queue on.
func (h *handler) emptyHome(ctx context.Context) (*compressed.Body, error) {
	c := &h.homePage
	real := time.Now()
	lead := h.now().Sub(real)
	if e := c.cur.Load(); e != nil && real.Sub(e.read) < homeFresh && (lead-e.lead).Abs() < clockJump {
		return e.page, nil
	}
	o, err := h.offer(ctx)
	if err != nil {
		return nil, err
	}
	var page *compressed.Body
	switch e := c.cur.Load(); {
	case o.plan == h.plan:
		page = c.configured
	case e != nil && e.plan == o.plan:
		page = e.page
	default:
		if page, err = h.renderHomePage(o); err != nil {
			return nil, err
		}
	}
	c.cur.Store(&homeEntry{plan: o.plan, page: page, lead: lead, read: real})
	return page, nil
}

// renderHomePage renders and compresses the empty home page at o.
func (h *handler) renderHomePage(o offer) (*compressed.Body, error) {
	var buf bytes.Buffer
	if err := h.homeComponent(o, h.emptyForm(o), nil).Render(context.Background(), &buf); err != nil {
		return nil, fmt.Errorf("render the home page: %w", err)
	}
	return compressed.NewBody(buf.Bytes()), nil
}

// emptyForm is the form as a new visitor sees it.
func (h *handler) emptyForm(o offer) views.Form {
	f := views.Form{TermsVersion: o.terms.Version, TermsSHA256: o.terms.SHA256}
	var available []string
	for _, p := range h.order {
		if p.Eligible("", o.plan.Price) == nil {
			available = append(available, p.Name())
		}
	}
	if len(available) == 1 {
		f.Provider = available[0]
	}
	return f
}

func (h *handler) renderHome(w http.ResponseWriter, r *http.Request, status int, o offer, f views.Form, errs map[string]string) {
	h.render(w, r, status, h.homeComponent(o, f, errs))
}

func (h *handler) homeComponent(o offer, f views.Form, errs map[string]string) templ.Component {
	m := views.Home{
		Chrome:    h.chrome("Set up "+o.plan.Interval.Adverb()+" payments", views.StepTerms),
		Plan:      h.planView(o.plan),
		Terms:     o.terms,
		Form:      f,
		Errors:    errs,
		Countries: countries.ByName(),
	}
	var payNow []string // the providers that can take the first payment for this plan
	for _, p := range h.order {
		opt := views.ProviderOption{Name: p.Name(), Label: providerLabel(p.Name()), Mode: string(p.Mode()), Note: providerNote(p.Name())}
		if err := p.Eligible("", o.plan.Price); err != nil {
			opt.Unavailable = err.Error()
		} else if p.Features().FirstPayment {
			payNow = append(payNow, opt.Label)
		}
		m.Providers = append(m.Providers, opt)
	}
	price, every := o.plan.Price.String(), string(o.plan.Interval)
	m.FinePrint = "You approve the payment method on the provider's page. Your first payment of " + price +
		" is taken as your subscription starts, as soon as your approval is confirmed; then one payment every " + every + ", on the same day."
	if len(payNow) > 0 {
		m.PayNowLabel = "Pay the first " + every + " (" + price + ") together with your approval, on the Amazon Pay page (" +
			strings.Join(payNow, " or ") + " only)."
		m.FinePrint = "You approve the payment method on the provider's page. Your first payment of " + price +
			" is taken as your subscription starts: together with your approval if you tick the box above, otherwise as soon as your approval is confirmed. Then one payment every " +
			every + ", on the same day."
	}
	return views.HomePage(m)
}

func providerNote(name string) string {
	switch name {
	case "stripe":
		return "Stripe's hosted Checkout: approve with Amazon Pay (or save a card)."
	case "ppro":
		return "Amazon Pay through PPRO: shoppers in the United States, USD only."
	}
	return ""
}
