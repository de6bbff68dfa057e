package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

const (
	dateInput    = "2006-01-02" // an <input type="date">'s value
	dashboardDay = "2 Jan 2006" // a day on the dashboard
)

// priceRefusals are the store's refusals of a price change, which the
// form shows in its words; anything else is a failure of the page.
var priceRefusals = []error{store.ErrPriceTooSoon, store.ErrPriceUnchanged, store.ErrPriceCurrency,
	store.ErrPriceNotAmount, store.ErrPriceChangeOpen}

// adminPrices shows the plan's price, the form that schedules a new one,
// and the changes scheduled and past with their notices.
func (h *handler) adminPrices(w http.ResponseWriter, r *http.Request) error {
	page, err := h.pricesPage(r, "", "", "")
	if err != nil {
		return err
	}
	h.priceFlash(r, &page)
	h.render(w, r, http.StatusOK, views.AdminPricesPage(page))
	return nil
}

// pricesPage builds the prices page, with what was typed into the form and
// why it was refused, if it was.
func (h *handler) pricesPage(r *http.Request, amount, effective, problem string) (views.AdminPrices, error) {
	ctx := r.Context()
	o, err := h.offer(ctx)
	if err != nil {
		return views.AdminPrices{}, err
	}
	// Without a token (the database is busy) the form is refused as
	// expired, and the next page has one.
	token, err := h.store.IssueAdminToken(ctx, "price")
	if err != nil {
		h.log.WarnContext(ctx, "price form token", "request_id", RequestID(ctx), "error", err)
	}
	earliest := store.EarliestEffective(h.now())
	page := views.AdminPrices{
		AdminChrome: h.adminChrome(r, "Prices"),
		Plan:        o.plan.Name + ", every " + string(o.plan.Interval),
		Current:     o.plan.Price.String(),
		Form: views.PriceForm{Token: token, Amount: amount, Currency: o.plan.Price.Currency, Effective: effective,
			Earliest: earliest.Format(dateInput), Error: problem},
	}
	if page.Form.Effective == "" {
		page.Form.Effective = page.Form.Earliest
	}
	page.Form.Rule = []string{
		"The new price applies to every payment due on or after that day (from 00:00 UTC). A payment due before it, even if it is retried later, keeps the old price.",
		"The terms promise at least 14 days' notice: every active shopper on the plan is emailed now, so the earliest day is " +
			earliest.Format("2 January 2006") + " (14 days from " + h.now().UTC().Format("2 January 2006, 15:04 UTC") + ").",
		"Shoppers who cancel before then are never charged the new price. New shoppers sign up at the new price from that day.",
		"Agreements made through PPRO state an exact amount, which cannot be changed: they end before their first payment at the new price, and the email asks the shopper to subscribe again.",
		"One change at a time: another can be scheduled once this one has taken effect.",
	}
	changes, err := h.store.PriceChanges(ctx, 50)
	if err != nil {
		return page, err
	}
	now := h.now()
	for _, c := range changes {
		v := views.PriceChangeView{ID: c.ID, Old: c.Old.String(), New: c.Price.String(), Effective: c.EffectiveAt.UTC().Format(dashboardDay),
			Scheduled: c.CreatedAt.UTC().Format(dashboardTime), State: "scheduled", Notified: c.Notified, Pending: c.Pending, Failed: c.Failed}
		if !c.EffectiveAt.After(now) {
			v.State = "in effect"
		}
		page.Changes = append(page.Changes, v)
	}
	return page, nil
}

// adminSchedulePrice schedules the plan's new price and tells every active
// shopper on it. What the merchant typed is checked first; the form's
// one-time token makes a form sent twice schedule once.
func (h *handler) adminSchedulePrice(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	typedAmount, typedDay := truncate(strings.TrimSpace(r.PostForm.Get("amount")), 40), truncate(strings.TrimSpace(r.PostForm.Get("effective")), 40)
	refuse := func(problem string) error {
		page, err := h.pricesPage(r, typedAmount, typedDay, problem)
		if err != nil {
			return err
		}
		h.render(w, r, http.StatusUnprocessableEntity, views.AdminPricesPage(page))
		return nil
	}
	if r.PostForm.Get("token") == "" {
		http.Redirect(w, r, "/admin/prices?error=expired", http.StatusSeeOther)
		return nil
	}
	currency := h.plan.Price.Currency
	amount, err := payments.ParseAmount(typedAmount, currency)
	if typedAmount == "" {
		return refuse("Enter the new price.")
	}
	if err != nil {
		return refuse(fmt.Sprintf("%q is not an amount in %s: %v.", typedAmount, currency, err))
	}
	day, err := time.Parse(dateInput, typedDay)
	if err != nil {
		return refuse("Enter the day the new price takes effect (YYYY-MM-DD).")
	}
	err = h.store.UseAdminToken(r.Context(), r.PostForm.Get("token"), "price")
	switch {
	case errors.Is(err, store.ErrTokenUsed):
		http.Redirect(w, r, "/admin/prices?error=used", http.StatusSeeOther)
		return nil
	case errors.Is(err, store.ErrBadToken):
		http.Redirect(w, r, "/admin/prices?error=expired", http.StatusSeeOther)
		return nil
	case err != nil:
		return err
	}
	c, created, err := h.svc.SchedulePriceChange(r.Context(), h.plan, payments.Money{Amount: amount, Currency: currency}, day)
	for _, refusal := range priceRefusals {
		if errors.Is(err, refusal) {
			return refuse(sentence(err.Error()))
		}
	}
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "price change scheduled", "request_id", RequestID(r.Context()), "change_id", c.ID,
		"price", c.Price.String(), "effective_at", c.EffectiveAt, "notified", c.Notified, "created", created)
	q := url.Values{"change": {strconv.FormatInt(c.ID, 10)}}
	if !created {
		q.Set("again", "1")
	}
	http.Redirect(w, r, "/admin/prices?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// sentence makes an error's text a sentence: capitalised, with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// priceFlash says what the last action did, from the ids in the query.
func (h *handler) priceFlash(r *http.Request, page *views.AdminPrices) {
	q := r.URL.Query()
	switch {
	case q.Get("change") != "":
		for _, c := range page.Changes {
			if strconv.FormatInt(c.ID, 10) != q.Get("change") {
				continue
			}
			again := ""
			if q.Get("again") != "" {
				again = "This change was already scheduled; nothing was sent again. "
			}
			told := fmt.Sprintf("%d shoppers are told by email.", c.Notified)
			switch c.Notified {
			case 0:
				told = "No active shopper is on the plan, so nobody needed telling."
			case 1:
				told = "1 shopper is told by email."
			}
			page.Flash = fmt.Sprintf("%sScheduled: %s from %s. %s", again, c.New, c.Effective, told)
		}
	case q.Get("error") == "used":
		page.Flash, page.FlashError = "This form was already sent; nothing was done again.", true
	case q.Get("error") == "expired":
		page.Flash, page.FlashError = "This form has expired; the page has been reloaded with a fresh one.", true
	}
}
