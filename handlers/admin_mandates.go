package handlers

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/service"
	"example.com/storefront/store"
	"example.com/storefront/terms"
	"example.com/storefront/views"
)

// dashboardTime formats times on the dashboard.
const dashboardTime = "2 Jan 2006, 15:04 UTC"

var (
	listStatuses  = []mandate.Status{mandate.Pending, mandate.Active, mandate.Failed, mandate.Canceled, mandate.Revoked}
	billingStates = []string{store.BillingActive, store.BillingPastDue, store.BillingEnded, store.BillingRevoked}
)

// adminList shows every mandate, newest first: counts by status, filters
// by provider, status, billing state, date and price, a search (see
// store/search.go), keyset pagination and the exports of what it shows.
func (h *handler) adminList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, sf, problems := h.listFilter(q)
	m := views.AdminList{AdminChrome: h.adminChrome(r, "Mandates"), Filter: f, Error: strings.Join(problems, " ")}
	for _, p := range h.order {
		m.Options.Providers = append(m.Options.Providers, views.Option{Value: p.Name(), Label: providerLabel(p.Name())})
	}
	for _, s := range listStatuses {
		m.Options.Statuses = append(m.Options.Statuses, views.Option{Value: string(s), Label: views.Label(string(s))})
	}
	for _, s := range billingStates {
		m.Options.Billing = append(m.Options.Billing, views.Option{Value: s, Label: views.Label(s)})
	}
	exports := withQuery("", filterValues(f, f.Status, f.Billing, f.Disputed))
	m.Exports = views.ListExports{Consents: "/admin/consents.csv" + exports, Payments: "/admin/payments.csv" + exports,
		Refunds: "/admin/refunds.csv" + exports, Filtered: exports != ""}

	counts, err := h.store.CountMandates(r.Context(), f.Provider)
	if err != nil {
		return err
	}
	link := func(status, billing string, disputed bool) string {
		return withQuery("/admin", filterValues(f, status, billing, disputed))
	}
	m.Counts = append(m.Counts, views.StatusCount{Label: "all", Count: counts.Total, URL: link("", "", false), Kind: "all",
		Current: f.Status == "" && f.Billing == "" && !f.Disputed})
	for _, s := range listStatuses {
		m.Counts = append(m.Counts, views.StatusCount{Label: views.Label(string(s)), Count: counts.ByStatus[s], URL: link(string(s), "", false),
			Kind: string(s), Current: f.Status == string(s) && f.Billing == "" && !f.Disputed})
	}
	m.Counts = append(m.Counts, views.StatusCount{Label: "past due", Count: counts.PastDue, URL: link("", store.BillingPastDue, false),
		Kind: store.BillingPastDue, Current: f.Billing == store.BillingPastDue && f.Status == "" && !f.Disputed})
	m.Counts = append(m.Counts, views.StatusCount{Label: "disputed", Count: counts.Disputed, URL: link("", "", true),
		Kind: "disputed", Current: f.Disputed && f.Billing == "" && f.Status == ""})

	sf.After = q.Get("after")
	rows, next, err := h.store.ListMandates(r.Context(), sf)
	if errors.Is(err, store.ErrBadCursor) {
		m.Error = "That page link is not valid any more; here is the first page."
		sf.After = ""
		rows, next, err = h.store.ListMandates(r.Context(), sf)
	}
	if err != nil {
		return err
	}
	for _, s := range rows {
		row := views.MandateRow{
			ID: s.ID, URL: "/admin/mandates/" + url.PathEscape(s.ID), Created: s.CreatedAt.UTC().Format(dashboardTime),
			Email: s.Email, Name: s.Name, Provider: providerLabel(s.Provider), Mode: string(s.Mode), Status: string(s.Status),
			Billing: s.BillingState, Plan: s.Plan.Price.String() + " / " + string(s.Plan.Interval), Disputed: s.Disputed,
		}
		if !s.NextDueAt.IsZero() {
			row.NextDue = s.NextDueAt.UTC().Format("2 Jan 2006")
		}
		m.Rows = append(m.Rows, row)
	}
	// Paid to date and the next payment: one query each for the page's
	// rows, beside the list's own (whose plan stays a walk of an index).
	ids := make([]string, len(m.Rows))
	for i, row := range m.Rows {
		ids[i] = row.ID
	}
	money, err := h.store.MandatesMoney(r.Context(), ids)
	if err != nil {
		return err
	}
	for i := range m.Rows {
		m.Rows[i].Money = rowMoney(money[m.Rows[i].ID])
	}
	if next != "" {
		v := r.URL.Query()
		v.Set("after", next)
		m.NextURL = "/admin?" + v.Encode()
	}
	if q.Get("after") != "" {
		v := r.URL.Query()
		v.Del("after")
		m.FirstURL = "/admin?" + v.Encode()
	}
	if m.Messages, err = h.messageAlert(r.Context()); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, views.AdminListPage(m))
	return nil
}

// adminMandate shows one mandate: the shopper, the provider's references,
// the history, the consent evidence with the exact terms agreed to, its
// billing, and every payment with its operations and refunds.
func (h *handler) adminMandate(w http.ResponseWriter, r *http.Request) error {
	m, err := h.store.Mandate(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	page, err := h.mandatePage(r, m)
	if err != nil {
		return err
	}
	h.flash(r, m, &page)
	h.render(w, r, http.StatusOK, views.AdminMandatePage(page))
	return nil
}

// mandatePage builds the view of a mandate's page.
func (h *handler) mandatePage(r *http.Request, m store.Mandate) (views.AdminMandate, error) {
	ctx := r.Context()
	page := views.AdminMandate{
		AdminChrome: h.adminChrome(r, m.Customer.Name),
		ID:          m.ID, Status: string(m.Status), Provider: providerLabel(m.Provider), Mode: string(m.Mode),
		Plan:      m.Plan.Name + ", " + m.Plan.Price.String() + " every " + string(m.Plan.Interval),
		Created:   m.CreatedAt.UTC().Format(dashboardTime),
		Customer:  views.Person{Name: m.Customer.Name, Email: m.Customer.Email, Country: m.Customer.Country},
		RevokedBy: string(m.RevokedBy), FailureCode: m.FailureCode, FailureReason: m.FailureReason, LastError: m.LastError,
		References: h.references(m),
		Consent:    consentView(m, h.merchant),
	}
	if !m.ConfirmedAt.IsZero() {
		page.Confirmed = m.ConfirmedAt.UTC().Format(dashboardTime)
	}
	activity, err := h.store.MandateActivity(ctx, m.ID)
	if err != nil {
		return page, err
	}
	for _, a := range activity {
		page.Activity = append(page.Activity, activityView(a, false))
	}
	charges, err := h.store.Charges(ctx, m.ID)
	if err != nil {
		return page, err
	}
	ops, err := h.store.Operations(ctx, m.ID)
	if err != nil {
		return page, err
	}
	refunds, err := h.store.Refunds(ctx, m.ID)
	if err != nil {
		return page, err
	}
	disputes, err := h.store.Disputes(ctx, m.ID)
	if err != nil {
		return page, err
	}
	for _, c := range slices.Backward(charges) { // newest first
		cv, err := h.chargeView(r, m, c, charges, ops[c.ID], refunds, disputes)
		if err != nil {
			return page, err
		}
		for _, dv := range cv.Disputes {
			if payments.DisputeState(dv.Status).Open() {
				page.OpenDisputes = append(page.OpenDisputes, dv)
			}
		}
		page.Charges = append(page.Charges, cv)
	}
	prices, err := h.store.MandatePrices(ctx, m.ID)
	if err != nil {
		return page, err
	}
	money, err := h.store.MandatesMoney(ctx, []string{m.ID})
	if err != nil {
		return page, err
	}
	page.Money = rowMoney(money[m.ID])
	if b, err := h.store.Billing(ctx, m.ID); err == nil {
		events, err := h.store.BillingEvents(ctx, m.ID)
		if err != nil {
			return page, err
		}
		page.Billing = h.billingView(m, b, events, charges, prices)
		page.Ended = endedWhy(m, b, events)
		if err := h.billingActions(r, m, b, prices, &page); err != nil {
			return page, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return page, err
	}
	for _, p := range prices {
		v := views.MandatePriceView{Old: p.Old.String(), New: p.Price.String(), Effective: p.EffectiveAt.UTC().Format(dashboardTime),
			FirstAt: p.FirstAt.UTC().Format(dashboardDay), Notified: p.NotifiedAt.UTC().Format(dashboardTime), Notice: p.MessageStatus,
			EndsAgreement: p.EndsAgreement}
		if !p.SentAt.IsZero() {
			v.SentAt = "sent " + p.SentAt.UTC().Format(dashboardTime)
		}
		page.Prices = append(page.Prices, v)
	}
	msgs, err := h.store.Messages(ctx, m.ID)
	if err != nil {
		return page, err
	}
	for _, msg := range msgs {
		page.Messages = append(page.Messages, messageView(msg))
	}
	page.CanRevoke = m.Status == mandate.Active
	if m.Status == mandate.Active {
		if page.RevokeToken, err = h.store.IssueFormToken(ctx, m.ID, "revoke"); err != nil {
			return page, err
		}
		form, note, err := h.chargeForm(r, m)
		if err != nil {
			return page, err
		}
		page.ChargeForm, page.NoCharge = form, note
		page.ShopperLink = h.baseURL + h.shopperLink(m.ID)
		page.SandboxDecline = h.sandboxDecline(m)
	} else {
		page.NoCharge = "This mandate is " + views.Label(string(m.Status)) + ": it cannot be charged."
	}
	return page, nil
}

// chargeForm is the "charge now" form with a fresh one-time token, or why
// there is none.
func (h *handler) chargeForm(r *http.Request, m store.Mandate) (*views.ChargeForm, string, error) {
	if _, err := h.svc.Provider(m); err != nil {
		return nil, "This mandate was made in " + string(m.Mode) + " mode; its provider now runs in another, so it cannot be charged from here.", nil
	}
	token, err := h.store.IssueFormToken(r.Context(), m.ID, "charge")
	if err != nil {
		return nil, "", err
	}
	form := &views.ChargeForm{Action: "/admin/mandates/" + url.PathEscape(m.ID) + "/charge", Token: token,
		Amount: m.Plan.Price.Major(), Currency: m.Plan.Price.Currency,
		Note: "Charged at once, off-session, with the saved " + methodLabel(m.PaymentMethodType) + "."}
	if fixed, ok := h.svc.FixedAmount(m); ok {
		// The agreement states the amount of every charge (PPRO's EXACT):
		// the provider refuses any other, so none is offered.
		form.Amount, form.Fixed = fixed.Major(), true
		form.Note += " The shopper's agreement is for exactly " + fixed.String() +
			" each time, so only that amount can be charged; for another amount the shopper approves a new agreement."
	}
	return form, "", nil
}

func (h *handler) chargeView(r *http.Request, m store.Mandate, c store.Charge, all []store.Charge, ops []store.Operation, refunds []store.Refund,
	disputes []store.Dispute) (views.ChargeView, error) {
	cv := views.ChargeView{
		ID: c.ID, Label: chargeLabel(c, all), Amount: c.Amount.String(), Status: string(c.Status), ProviderStatus: c.ProviderStatus,
		ProviderRef: c.ProviderRef, ProviderURL: h.dashboardURL(m, "payments", c.ProviderRef), LastError: c.LastError,
		Created: c.CreatedAt.UTC().Format(dashboardTime), Reason: c.Reason,
	}
	if c.FailureCode != "" || c.FailureReason != "" {
		cv.Failure = c.Decline()
		cv.FailureLabel = "Declined"
		if c.Status == payments.ChargeFailed && !service.Declined(c) {
			cv.FailureLabel = "Not made" // never reached the provider: no decline
		}
		if payments.NeedsShopper(c.FailureCode) {
			cv.Failure += " (Declined: the payment needed the shopper to confirm it, which an off-session charge cannot ask.)"
		}
	}
	if c.Refunded > 0 {
		cv.Refunded = payments.Money{Amount: c.Refunded, Currency: c.Amount.Currency}.String()
	}
	// A refund the merchant made here is listed once, with its own state
	// and reason, under Refunds: its operation at the provider (the same
	// refund, by its reference) is not listed again.
	ours := map[string]bool{}
	for _, rf := range refunds {
		if rf.ChargeID == c.ID && rf.ProviderRef != "" {
			ours[rf.ProviderRef] = true
		}
	}
	for _, o := range ops {
		if o.Kind == payments.OpRefund && ours[o.ProviderRef] {
			continue
		}
		cv.Operations = append(cv.Operations, views.OperationView{Kind: string(o.Kind), Ref: o.ProviderRef,
			Amount: payments.Money{Amount: o.Amount, Currency: c.Amount.Currency}.String(), Status: o.Status})
	}
	var committed int64
	for _, rf := range refunds {
		if rf.ChargeID != c.ID {
			continue
		}
		if rf.Status != payments.RefundFailed {
			committed += rf.Amount.Amount
		}
		reason := rf.FailureReason
		if rf.Status == payments.RefundFailed && reason == "" {
			reason = providerLabel(m.Provider) + " gave no reason (" + rf.ProviderStatus + ")."
		}
		cv.Refunds = append(cv.Refunds, views.RefundView{ID: rf.ID, Amount: rf.Amount.String(), Status: string(rf.Status),
			ProviderStatus: rf.ProviderStatus, ProviderRef: rf.ProviderRef, Reason: reason, LastError: rf.LastError,
			Created: rf.CreatedAt.UTC().Format(dashboardTime), Why: refundWhy(rf)})
	}
	// A disputed payment is not refunded from here: while the dispute is
	// open the provider refuses (Stripe: charge_disputed), and a lost one
	// already gave the money back.
	for _, d := range disputes {
		if d.ChargeID != c.ID {
			continue
		}
		cv.Disputes = append(cv.Disputes, disputeView(d, cv.Label))
		switch {
		case d.Status.Open():
			cv.NoRefund = "No refund while the payment is disputed."
		case d.Status == payments.DisputeLost:
			cv.NoRefund = "The lost dispute gave the money back to the shopper."
		case d.Status == payments.DisputeChargedBack:
			cv.NoRefund = "The chargeback gave the money back to the shopper."
		}
	}
	left := c.Amount.Amount - max(committed, c.Refunded)
	if c.Status.Paid() && left > 0 && c.ProviderRef != "" && cv.NoRefund == "" {
		if _, err := h.svc.Provider(m); err == nil {
			token, err := h.store.IssueFormToken(r.Context(), m.ID, "refund:"+strconv.FormatInt(c.ID, 10))
			if err != nil {
				return cv, err
			}
			max := payments.Money{Amount: left, Currency: c.Amount.Currency}
			cv.RefundForm = &views.RefundForm{
				Action: "/admin/mandates/" + url.PathEscape(m.ID) + "/charges/" + strconv.FormatInt(c.ID, 10) + "/refund",
				Token:  token, Amount: max.Major(), Max: max.String(), Currency: c.Amount.Currency,
				Reasons: refundReasons,
			}
		}
	}
	return cv, nil
}

func disputeView(d store.Dispute, chargeLabel string) views.DisputeView {
	v := views.DisputeView{Ref: d.ProviderRef, ChargeLabel: chargeLabel, Amount: d.Amount.String(), Status: string(d.Status),
		ProviderStatus: d.ProviderStatus, Reason: views.Label(d.Reason), Updated: d.UpdatedAt.UTC().Format(dashboardTime)}
	if !d.EvidenceDueBy.IsZero() {
		v.Deadline = d.EvidenceDueBy.UTC().Format(dashboardTime)
	}
	return v
}

// chargeLabel names a charge among all of its mandate's: a scheduled
// attempt after a decline is a retry, counted by the declines before it;
// one after a payment never made is only another attempt (it used no
// retry).
func chargeLabel(c store.Charge, all []store.Charge) string {
	switch c.Kind {
	case store.KindInitial:
		return "First payment, with the setup"
	case store.KindMerchant:
		return "Charged by the merchant"
	}
	if c.Attempt <= 1 {
		return fmt.Sprintf("Period %d", c.Period)
	}
	if n := declinedBefore(c, all); n > 0 {
		return fmt.Sprintf("Period %d, retry %d", c.Period, n)
	}
	return fmt.Sprintf("Period %d, attempt %d", c.Period, c.Attempt)
}

// declinedBefore counts the declined attempts of c's period before c.
func declinedBefore(c store.Charge, all []store.Charge) int {
	n := 0
	for _, o := range all {
		if o.Kind == store.KindScheduled && o.Period == c.Period && o.Attempt < c.Attempt && service.Declined(o) {
			n++
		}
	}
	return n
}

// references lists the provider's ids behind a mandate, with links into
// Stripe's Dashboard in test and live mode (PPRO documents no such URL).
func (h *handler) references(m store.Mandate) []views.Reference {
	var refs []views.Reference
	add := func(label, value, kind string) {
		if value != "" {
			refs = append(refs, views.Reference{Label: label, Value: value, URL: h.dashboardURL(m, kind, value)})
		}
	}
	switch m.Provider {
	case "stripe":
		add("Checkout Session", m.ProviderRef, "")
		add("Customer", m.ProviderCustomerRef, "customers")
		add("SetupIntent", m.SetupIntentRef, "setup_intents")
		add("PaymentMethod", m.PaymentMethodID, "")
		add("Mandate", m.ProviderMandateRef, "")
	default:
		add("Payment agreement", m.ProviderRef, "")
	}
	add("Our reference", m.ID, "")
	return refs
}

// dashboardURL links an object into Stripe's Dashboard, in test or live
// mode; "" in the sandbox and for other providers.
func (h *handler) dashboardURL(m store.Mandate, kind, id string) string {
	if m.Provider != "stripe" || kind == "" || id == "" || m.Mode == payments.ModeSandbox {
		return ""
	}
	base := "https://dashboard.stripe.com/"
	if m.Mode == payments.ModeTest {
		base += "test/"
	}
	return base + kind + "/" + url.PathEscape(id)
}

// consentView is the consent evidence, with the exact terms text of the
// version agreed to rebuilt and its SHA-256 computed again.
func consentView(m store.Mandate, merchant string) views.ConsentView {
	c := views.ConsentView{
		TermsVersion: m.Consent.TermsVersion, TermsSHA256: m.Consent.TermsSHA256, Authorization: m.Consent.Authorization,
		AcceptedAt: m.Consent.AcceptedAt.UTC().Format(dashboardTime), IP: m.Consent.ClientIP, UserAgent: m.Consent.UserAgent,
	}
	name := cmp.Or(m.Consent.Merchant, merchant)
	doc, err := terms.Render(m.Consent.TermsVersion, name, m.Consent.Contact, m.Plan)
	if err != nil {
		c.TermsError = "The terms of version " + m.Consent.TermsVersion + " could not be rebuilt: " + err.Error()
		return c
	}
	sum := sha256.Sum256([]byte(doc.Text))
	c.Recomputed = hex.EncodeToString(sum[:])
	c.Matches = c.Recomputed == m.Consent.TermsSHA256
	c.Terms = doc.Blocks
	return c
}

// billingView shows where an active mandate's payments stand: every period
// so far with its outcome, and the next few to come.
func (h *handler) billingView(m store.Mandate, b store.Billing, events []store.BillingEvent, charges []store.Charge,
	prices []store.MandatePrice) *views.BillingView {
	v := &views.BillingView{State: b.State, Period: b.NextPeriod, Failures: b.Failures}
	live := b.State == store.BillingActive || b.State == store.BillingPastDue
	if live {
		v.NextDue = b.NextDueAt.UTC().Format(dashboardTime)
	}
	if b.State == store.BillingPastDue {
		v.Note = fmt.Sprintf("%d declined so far; retry %d of %d on %s.", b.Failures, b.Failures, len(h.retries), b.NextDueAt.UTC().Format("2 Jan 2006"))
	}
	byPeriod := map[int][]store.Charge{}
	for _, c := range charges {
		if c.Period > 0 {
			byPeriod[c.Period] = append(byPeriod[c.Period], c)
		}
	}
	last := b.NextPeriod
	if live {
		last += 2 // the next two after the one being charged
	}
	ended := false // by a price change the agreement cannot carry
	for n := 1; n <= last; n++ {
		p := views.PeriodView{N: n, Due: billing.Due(b.AnchorAt, m.Plan.Interval, n).Format("2 Jan 2006")}
		cs := byPeriod[n]
		switch {
		case len(cs) > 0 && cs[len(cs)-1].Status.Paid():
			p.Status = "paid"
			if cs[len(cs)-1].Status != payments.ChargeSucceeded {
				p.Status = "refunded"
			}
			if n := declinedBefore(cs[len(cs)-1], cs); n > 0 {
				p.Detail = fmt.Sprintf("after %d declined", n)
			}
		case len(cs) > 0 && cs[len(cs)-1].Status == payments.ChargePending:
			p.Status = "pending"
		case n == b.NextPeriod && b.State == store.BillingPastDue:
			p.Status = "retrying"
			p.Detail = fmt.Sprintf("%d declined", b.Failures)
		case n < b.NextPeriod || (n == b.NextPeriod && !live):
			p.Status = "failed"
			if len(cs) == 0 {
				p.Status, p.Detail = "skipped", "not charged"
			}
		case n == b.NextPeriod && !b.NextDueAt.After(h.now()):
			p.Status = "due"
		default:
			p.Status = "upcoming"
		}
		if p.Status == "due" || p.Status == "upcoming" {
			// A price change the mandate was told of shows on the periods it
			// reaches: their price, or that the agreement ends before them.
			switch price := store.PriceOn(m.Plan.Price, prices, billing.Due(b.AnchorAt, m.Plan.Interval, n)); {
			case price.EndsAgreement && !ended:
				p.Detail, ended = "not charged: the agreement ends with the price change", true
			case price.EndsAgreement:
				p.Detail = "none: the agreement has ended"
			case price.Money != m.Plan.Price:
				p.Detail = "at " + price.Money.String()
			}
		}
		v.Periods = append(v.Periods, p)
	}
	for _, e := range events {
		v.History = append(v.History, views.BillingEventView{At: e.At.UTC().Format(dashboardTime), From: e.From, To: e.To,
			Period: e.Period, Detail: e.Detail, What: store.BillingWords(e.From, e.To, e.Period, e.Detail)})
	}
	return v
}

// endedWhy says why a revoked mandate whose billing ended was revoked:
// the app revoked it at the provider (which reports it as the merchant's)
// because billing ended, for non-payment or by a price change its
// agreement could not carry. "" for a mandate someone revoked.
func endedWhy(m store.Mandate, b store.Billing, events []store.BillingEvent) string {
	if m.Status != mandate.Revoked || b.State != store.BillingEnded {
		return ""
	}
	e, ok := store.BillingEnd(events)
	switch {
	case !ok:
		return "For non-payment: the agreement was revoked at the provider"
	case store.EndedByPrice(e.Detail):
		return "By a price change: the agreement states its amount exactly, so it was revoked at the provider (" + e.Detail + ")"
	}
	return "For non-payment: the agreement was revoked at the provider (" + e.Detail + ")"
}

// flash says what the last action did, from the ids in the query (never
// from text in it).
func (h *handler) flash(r *http.Request, m store.Mandate, page *views.AdminMandate) {
	q := r.URL.Query()
	switch {
	case q.Get("charge") != "":
		for _, c := range page.Charges {
			if strconv.FormatInt(c.ID, 10) != q.Get("charge") {
				continue
			}
			again := ""
			if q.Get("again") != "" {
				again = "This form was already sent, so nothing new was charged. "
			}
			switch c.Status {
			case string(payments.ChargeFailed):
				verb := " was declined: "
				if strings.HasPrefix(c.ProviderStatus, "refused") {
					verb = " was refused by " + page.Provider + ": " // a 4xx: the request itself, not the shopper's money
				}
				page.Flash, page.FlashError = again+"The charge of "+c.Amount+verb+c.Failure, true
			case string(payments.ChargePending):
				page.Flash = again + "The charge of " + c.Amount + " is pending at " + page.Provider + "."
				switch {
				case strings.Contains(c.LastError, string(payments.ErrInFlight)):
					page.Flash = again + page.Provider + " is still working on the charge of " + c.Amount +
						" (a request with its idempotency key is running); it will be looked up, never charged twice."
				case c.LastError != "":
					page.Flash, page.FlashError = again+page.Provider+" could not be reached; the charge of "+c.Amount+
						" is pending and will be finished with the same idempotency key, never charged twice.", true
				}
			default:
				page.Flash = again + "Charged " + c.Amount + "."
			}
		}
	case q.Get("refund") != "":
		for _, c := range page.Charges {
			for _, rf := range c.Refunds {
				if strconv.FormatInt(rf.ID, 10) != q.Get("refund") {
					continue
				}
				switch rf.Status {
				case string(payments.RefundFailed):
					page.Flash, page.FlashError = "The refund of "+rf.Amount+" failed: "+rf.Reason, true
				case string(payments.RefundPending):
					page.Flash = "The refund of " + rf.Amount + " is pending."
					if rf.LastError != "" {
						page.Flash, page.FlashError = page.Provider+" has not answered yet; the refund of "+rf.Amount+
							" is pending and will be finished with the same idempotency key or found by our reference, never made twice.", true
					}
				default:
					page.Flash = "Refunded " + rf.Amount + "."
				}
			}
		}
	case q.Get("cancel") == "period-end" && page.CancelsOn != "":
		page.Flash = "Cancelled at the end of the paid period: active until " + page.CancelsOn +
			", then revoked; nothing more is charged. The shopper was emailed."
	case q.Get("sandbox") == "declines":
		page.Flash = "The sandbox answers this shopper's next payments as you set it: the next one, scheduled or charged now, shows it."
	case q.Get("revoked") != "" && m.Status == mandate.Revoked:
		page.Flash = "Revoked: " + page.Provider + " was told, and the mandate can no longer be charged."
	case q.Get("error") != "":
		page.FlashError = true
		switch q.Get("error") {
		case "inactive":
			page.Flash = "This mandate is not active, so it cannot be charged; nothing was sent to " + page.Provider + "."
		case "used":
			page.Flash = "This form was already sent; nothing was done again."
		case "expired":
			page.Flash = "This form has expired; the page has been reloaded with a fresh one."
		case "too-much":
			page.Flash = "That is more than what is left to refund."
		case "not-paid":
			page.Flash = "That charge took no money, so there is nothing to refund."
		case "no-retry":
			page.Flash = "Nothing was retried: the payment was retried or paid meanwhile, or is being charged right now. The page shows where it stands."
		case "not-billed":
			page.Flash = "Only a paid-up subscription can be cancelled at the end of its paid period; nothing was changed."
		case "revoke":
			page.Flash = page.Provider + " could not be told, so the mandate is still active. Try again in a moment."
		default:
			page.FlashError = false
		}
	}
}

// since is a coarse duration for the demo clock's offset.
func since(d time.Duration) string {
	days := int(d.Hours() / 24)
	switch {
	case days >= 2:
		return strconv.Itoa(days) + " days ahead of real time"
	case d >= time.Hour:
		return strconv.Itoa(int(d.Hours())) + " hours ahead of real time"
	case d > 0:
		return "a little ahead of real time"
	}
	return ""
}
