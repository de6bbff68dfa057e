package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/shopperlink"
	"example.com/storefront/store"
	"example.com/storefront/terms"
	"example.com/storefront/views"
)

// shopperLinkTTL is how long a signed link to a shopper's page works.
const shopperLinkTTL = shopperlink.DefaultTTL

// shopperLink is a signed, expiring link to a mandate's page, for an email:
// it opens the page without the browser session that made the mandate. It
// expires in real time, not on the demo clock (see shopperlink).
func (h *handler) shopperLink(id string) string {
	return h.links.Path(id, time.Now())
}

// errLinkExpired is a genuine link to a mandate's page that has expired:
// its page offers a fresh link instead of the 404.
var errLinkExpired = errors.New("the shopper's link has expired")

// shopperMandate finds the mandate of a shopper's page: this browser made
// it, or the request carries a valid signed link. A genuine but expired
// link gives the mandate with errLinkExpired. Otherwise the 404 page, so
// nobody learns whether it exists.
func (h *handler) shopperMandate(r *http.Request, expires, sig string) (store.Mandate, bool, error) {
	id := r.PathValue("id")
	viaLink, expired := h.links.Check(id, expires, sig, time.Now())
	if !viaLink && !expired && !h.owns(r, id) {
		if sig != "" {
			h.log.WarnContext(r.Context(), "a shopper link that is tampered", "request_id", RequestID(r.Context()),
				"mandate", truncate(id, maxLogged))
		}
		return store.Mandate{}, false, errNotFound
	}
	m, err := h.store.Mandate(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !h.sameMode(m)) {
		return store.Mandate{}, false, errNotFound
	}
	if err == nil && expired && !h.owns(r, id) {
		return m, false, errLinkExpired
	}
	return m, viaLink, err
}

// shopperPage is the shopper's own page of their mandate: what they agreed
// to, what they paid, when the next payment is, and how to cancel.
func (h *handler) shopperPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	m, viaLink, err := h.shopperMandate(r, q.Get("e"), q.Get("s"))
	if errors.Is(err, errLinkExpired) {
		return h.linkPage(w, r, m, q.Get("e"), q.Get("s"), false)
	}
	if err != nil {
		return err
	}
	page, err := h.shopperView(r, m)
	if err != nil {
		return err
	}
	if viaLink {
		page.LinkExpires, page.LinkSig = q.Get("e"), q.Get("s")
	}
	if q.Get("cancelled") != "" && m.Status == mandate.Revoked {
		page.Message = "Your subscription is cancelled. No further payment will be taken."
	}
	h.render(w, r, http.StatusOK, views.ShopperMandatePage(page))
	return nil
}

func (h *handler) shopperView(r *http.Request, m store.Mandate) (views.ShopperMandate, error) {
	page := views.ShopperMandate{
		Chrome: h.chrome("Your subscription", views.StepNone),
		ID:     m.ID, Status: string(m.Status), Plan: h.planView(m.Plan), Provider: providerLabel(m.Provider),
		Method: methodLabel(m.PaymentMethodType), Email: m.Customer.Email, Authorization: m.Consent.Authorization,
		TermsVersion: m.Consent.TermsVersion, CanCancel: m.Status == mandate.Active, Contact: h.merchantEmail,
		CancelAction: "/mandates/" + url.PathEscape(m.ID) + "/cancel",
	}
	if !m.ConfirmedAt.IsZero() {
		page.Since = m.ConfirmedAt.UTC().Format("2 January 2006")
	}
	if doc, err := terms.Render(m.Consent.TermsVersion, firstNonEmpty(m.Consent.Merchant, h.merchant),
		firstNonEmpty(m.Consent.Contact, h.merchantEmail), m.Plan); err == nil {
		page.Terms = doc.Blocks
	}
	charges, err := h.store.Charges(r.Context(), m.ID)
	if err != nil {
		return page, err
	}
	b, err := h.store.Billing(r.Context(), m.ID)
	billed := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return page, err
	}
	if m.Status == mandate.Revoked {
		if page.Ended, err = h.whyEnded(r, m, b, billed); err != nil {
			return page, err
		}
	}
	type dated struct {
		at time.Time
		p  views.ShopperPayment
	}
	var paid []dated
	for _, c := range charges {
		if c.Status == payments.ChargePending || c.Status == payments.ChargeFailed {
			continue // the shopper's page lists what was paid
		}
		// A period's payment is listed by the period's due date, once,
		// whenever it was taken: a payment taken late (after a retry, or
		// a demo clock moved before the worker came round) is still that
		// period's, never the next one's.
		at, status := c.CreatedAt, "paid"
		if c.Period > 0 && billed {
			at = billing.Due(b.AnchorAt, m.Plan.Interval, c.Period)
			if day := c.CreatedAt.UTC().Format(shopperDate); day != at.UTC().Format(shopperDate) {
				status = "paid on " + day
			}
		}
		if c.Refunded > 0 {
			status = "refunded " + payments.Money{Amount: c.Refunded, Currency: c.Amount.Currency}.String()
		}
		paid = append(paid, dated{at, views.ShopperPayment{Date: at.UTC().Format(shopperDate), Amount: c.Amount.String(), Status: status}})
	}
	slices.SortStableFunc(paid, func(x, y dated) int { return x.at.Compare(y.at) })
	for _, d := range paid {
		page.Payments = append(page.Payments, d.p)
	}
	if billed && (b.State == store.BillingActive || b.State == store.BillingPastDue) {
		// At the price of the period that is due, and saying so when a
		// price change the shopper was told of comes after it.
		prices, err := h.store.MandatePrices(r.Context(), m.ID)
		if err != nil {
			return page, err
		}
		next := store.PriceOn(m.Plan.Price, prices, b.NextDueAt)
		switch {
		case !b.CancelRequestedAt.IsZero():
			page.NextPayment = "none: " + h.merchant + " cancels your subscription at the end of the period you paid for, on " +
				b.NextDueAt.UTC().Format(shopperDate)
		case next.EndsAgreement:
			page.NextPayment = "none: the price is now " + next.String() + ", your approval is for " + m.Plan.Price.String() +
				" exactly, so your subscription ends on " + b.NextDueAt.UTC().Format(shopperDate)
		case !b.NextDueAt.After(h.now()):
			page.NextPayment = next.String() + ", being taken now"
		default:
			page.NextPayment = next.String() + " on " + b.NextDueAt.UTC().Format(shopperDate)
		}
		for _, p := range prices {
			if p.EffectiveAt.After(b.NextDueAt) && !p.EndsAgreement {
				page.NextPayment += "; from " + p.FirstAt.UTC().Format(shopperDate) + ", " + p.Price.String()
			}
		}
	}
	return page, nil
}

// shopperCancel cancels the shopper's mandate: the provider first, then
// ours (revoked, by the shopper).
func (h *handler) shopperCancel(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	e, s := r.PostForm.Get("e"), r.PostForm.Get("s")
	m, _, err := h.shopperMandate(r, e, s)
	if errors.Is(err, errLinkExpired) {
		// The page was opened in time and the form sent too late: nothing
		// is cancelled, and a fresh link is offered.
		return h.linkPage(w, r, m, e, s, false)
	}
	if err != nil {
		return err
	}
	if m.Status == mandate.Active {
		if _, err := h.svc.Revoke(r.Context(), m, payments.RevokedByShopper, mandate.SourceShopper); err != nil {
			return providerFailure(h.providers[m.Provider], "cancel your subscription", err)
		}
		h.log.InfoContext(r.Context(), "mandate cancelled by the shopper", "request_id", RequestID(r.Context()), "mandate_id", m.ID)
	}
	to := "/mandates/" + url.PathEscape(m.ID) + "?cancelled=1"
	if s != "" {
		to += "&e=" + url.QueryEscape(e) + "&s=" + url.QueryEscape(s)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// freshLinkEvery is how often a shopper can have a fresh link emailed at
// most: presses within one of these windows make one message.
const freshLinkEvery = 10 * time.Minute

// shopperSendLink emails a fresh link to a mandate's page, to the
// mandate's own address and no other, for a genuine link (expired or not):
// whoever holds an old email can reach the page again, and nobody can
// have a link sent elsewhere.
func (h *handler) shopperSendLink(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	id, e, s := r.PathValue("id"), r.PostForm.Get("e"), r.PostForm.Get("s")
	now := time.Now() // real time, as the links' expiry
	if ok, expired := h.links.Check(id, e, s, now); !ok && !expired {
		h.log.WarnContext(r.Context(), "a fresh link asked for with a tampered link", "request_id", RequestID(r.Context()),
			"mandate", truncate(id, maxLogged))
		return errNotFound
	}
	m, err := h.store.Mandate(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !h.sameMode(m)) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	bucket := now.UTC().Truncate(freshLinkEvery)
	isNew, err := h.store.EnqueueMessage(r.Context(), store.NewMessage{
		Key:  "mandate/" + m.ID + "/link/" + strconv.FormatInt(bucket.Unix(), 10),
		Kind: store.MsgLink, MandateID: m.ID, To: m.Customer.Email,
		Data: store.LinkData{At: now.UTC()},
	})
	if err != nil {
		return fmt.Errorf("fresh link for %s: %w", m.ID, err)
	}
	h.log.InfoContext(r.Context(), "a fresh link asked for by the shopper", "request_id", RequestID(r.Context()),
		"mandate_id", m.ID, "new", isNew)
	return h.linkPage(w, r, m, e, s, true)
}

// linkPage is the page of an expired link: the offer to email a fresh one,
// or (sent) the word that it was.
func (h *handler) linkPage(w http.ResponseWriter, r *http.Request, m store.Mandate, e, s string, sent bool) error {
	page := views.ShopperLink{
		Chrome: h.chrome("Your link has expired", views.StepNone), PlanName: m.Plan.Name,
		MaskedEmail: maskEmail(m.Customer.Email), Action: "/mandates/" + url.PathEscape(m.ID) + "/link",
		LinkExpires: e, LinkSig: s, Sent: sent, CanCancel: m.Status == mandate.Active, Every: fmt.Sprintf("%d minutes", int(freshLinkEvery.Minutes())),
	}
	if sent {
		page.Chrome.Title = "Check your email"
	}
	if n, err := strconv.ParseInt(e, 10, 64); err == nil {
		page.ExpiredOn = time.Unix(n, 0).UTC().Format(shopperDate)
	}
	h.render(w, r, http.StatusOK, views.ShopperLinkPage(page))
	return nil
}

// maskEmail shows enough of an address for its owner to recognise it and
// little for anyone else: "a•••@example.com".
func maskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "•••"
	}
	first, _ := utf8.DecodeRuneInString(addr)
	return string(first) + "•••" + addr[at:]
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// whyEnded says in the shopper's words who or what ended their
// subscription, and when: "cancelled" alone leaves a shopper whose
// payments failed, or whose shop stopped it, guessing.
func (h *handler) whyEnded(r *http.Request, m store.Mandate, b store.Billing, billed bool) (string, error) {
	on := " on " + m.UpdatedAt.UTC().Format(shopperDate)
	if billed && b.State == store.BillingEnded {
		events, err := h.store.BillingEvents(r.Context(), m.ID)
		if err != nil {
			return "", err
		}
		if e, ok := store.BillingEnd(events); ok {
			on = " on " + e.At.UTC().Format(shopperDate)
			if store.EndedByPrice(e.Detail) {
				return "It ended" + on + ", when the price changed: your approval was for " + m.Plan.Price.String() +
					" exactly, so no payment was taken at the new price.", nil
			}
		}
		return "It ended" + on + " because a payment could not be taken after several tries. No further payment will be taken.", nil
	}
	switch m.RevokedBy {
	case payments.RevokedByShopper:
		return "You cancelled it" + on + ".", nil
	case payments.RevokedByMerchant:
		return firstNonEmpty(m.Consent.Merchant, h.merchant) + " cancelled it" + on + ". If you did not expect this, write to " + h.merchantEmail + ".", nil
	case payments.RevokedByProvider:
		return "Amazon Pay or the payment provider ended it" + on + ".", nil
	}
	return "It ended" + on + ".", nil
}
