package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

// DemoClock is the movable billing clock of an all-sandbox demo.
type DemoClock interface {
	Now() time.Time
	Offset() time.Duration
	// Advance moves the clock forward by d (for the app and the sandbox
	// together), keeps the offset, and runs the worker at once, so the
	// charges that fall due show up before the page comes back.
	Advance(ctx context.Context, d time.Duration) error
	// Reset brings the clock back to real time.
	Reset(ctx context.Context) error
}

func (h *handler) clockView(r *http.Request) *views.DemoClock {
	c := h.admin.Clock
	ret := r.URL.RequestURI()
	if r.Method != http.MethodGet || !strings.HasPrefix(ret, "/admin") {
		ret = "/admin"
	}
	// Without a token (the database is busy) the forms are refused as
	// expired, and the next page has one.
	token, err := h.store.IssueAdminToken(r.Context(), "clock")
	if err != nil {
		h.log.WarnContext(r.Context(), "demo clock form token", "request_id", RequestID(r.Context()), "error", err)
	}
	return &views.DemoClock{
		Now:          c.Now().UTC().Format("Mon 2 Jan 2006, 15:04 UTC"),
		Offset:       since(c.Offset()),
		AdvanceLabel: "Advance one " + string(h.plan.Interval),
		Return:       ret,
		Token:        token,
	}
}

// spendClockToken spends a clock form's one-time token; false when the
// form was sent before or is not ours (the page comes back, unmoved).
func (h *handler) spendClockToken(w http.ResponseWriter, r *http.Request) (bool, error) {
	err := h.store.UseAdminToken(r.Context(), r.PostForm.Get("token"), "clock")
	if errors.Is(err, store.ErrTokenUsed) || errors.Is(err, store.ErrBadToken) {
		http.Redirect(w, r, safeNext(r.PostForm.Get("return")), http.StatusSeeOther)
		return false, nil
	}
	return err == nil, err
}

// adminClockAdvance moves the demo clock one plan period (or one day)
// forward and runs the worker: next month's charge, a decline and its
// retry happen in seconds.
func (h *handler) adminClockAdvance(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	if ok, err := h.spendClockToken(w, r); !ok {
		return err
	}
	d := 24 * time.Hour
	if r.PostForm.Get("by") == "period" {
		d = billing.Step(h.admin.Clock.Now(), h.plan.Interval)
	}
	if err := h.admin.Clock.Advance(r.Context(), d); err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "demo clock advanced", "request_id", RequestID(r.Context()), "by", d, "now", h.admin.Clock.Now())
	http.Redirect(w, r, safeNext(r.PostForm.Get("return")), http.StatusSeeOther)
	return nil
}

func (h *handler) adminClockReset(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	if ok, err := h.spendClockToken(w, r); !ok {
		return err
	}
	if err := h.admin.Clock.Reset(r.Context()); err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("return")), http.StatusSeeOther)
	return nil
}
