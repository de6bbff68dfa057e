package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"example.com/storefront/store"
	"example.com/storefront/views"
)

// activityPage is how many entries a page of the shop's activity shows.
const activityPage = 50

// activityBy says who did something, in the merchant's words.
var activityBy = map[string]string{
	store.ByShopper:  "the shopper",
	store.ByMerchant: "the merchant",
	store.BySchedule: "the schedule",
	store.ByProvider: "the provider",
	store.ByApp:      "the app",
}

// activityPills are the kinds whose entry shows its row's state now (a
// payment's, a refund's): the others' words say it.
var activityPills = map[string]bool{store.ActCharge: true, store.ActRefund: true, store.ActDispute: true,
	store.ActMessage: true, store.ActResend: true}

func activityView(a store.Activity, withMandate bool) views.ActivityEntry {
	v := views.ActivityEntry{At: a.At.UTC().Format(dashboardTime), Kind: a.Kind, What: a.What, Detail: a.Detail,
		By: activityBy[a.By]}
	if v.By == "" {
		v.By = a.By
	}
	switch a.Kind {
	case store.ActMessage, store.ActResend:
		// The message's kind in the words of the emails' section.
		kind := messageKinds[a.MessageKind]
		if kind == "" {
			kind = a.MessageKind
		}
		v.What = kind + " emailed to " + a.To
		if a.Kind == store.ActResend {
			v.What = kind + " to " + a.To + " sent again"
		}
	case store.ActPrice: // its words say the amounts
	default:
		if a.Amount.Currency != "" {
			v.Amount = a.Amount.String()
		}
	}
	if activityPills[a.Kind] {
		v.State = a.State
	}
	if withMandate && a.MandateID != "" {
		v.MandateURL, v.Shopper = "/admin/mandates/"+url.PathEscape(a.MandateID), a.Shopper
		if v.Shopper == "" {
			v.Shopper = a.MandateID
		}
	}
	return v
}

// adminActivity is the shop's activity log, newest first, a page at a time
// (the cursor is the last entry shown).
func (h *handler) adminActivity(w http.ResponseWriter, r *http.Request) error {
	page := views.AdminActivity{AdminChrome: h.adminChrome(r, "Activity")}
	after := r.URL.Query().Get("after")
	entries, next, err := h.store.Activity(r.Context(), after, activityPage)
	if errors.Is(err, store.ErrBadActivityCursor) {
		page.Flash, page.FlashError = "That page link is not valid; here are the newest entries.", true
		after = ""
		entries, next, err = h.store.Activity(r.Context(), "", activityPage)
	}
	if err != nil {
		return err
	}
	for _, a := range entries {
		page.Entries = append(page.Entries, activityView(a, true))
	}
	if next != "" {
		page.NextURL = "/admin/activity?" + url.Values{"after": {next}}.Encode()
	}
	if after != "" {
		page.FirstURL = "/admin/activity"
	}
	h.render(w, r, http.StatusOK, views.AdminActivityPage(page))
	return nil
}
