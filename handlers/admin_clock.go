package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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
	// charges that fall due show up before the page comes back. It
	// reports how many scheduled payments it made.
	Advance(ctx context.Context, d time.Duration) (charged int, err error)
	// Reset brings the clock back to real time.
	Reset(ctx context.Context) error
}

func (h *handler) clockView(r *http.Request) *views.DemoClock {
	c := h.admin.Clock
	ret := clockReturn(r)
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
	charged, err := h.admin.Clock.Advance(r.Context(), d)
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "demo clock advanced", "request_id", RequestID(r.Context()), "by", d, "now", h.admin.Clock.Now(),
		"charged", charged)
	http.Redirect(w, r, withMoved(safeNext(r.PostForm.Get("return")), d, charged), http.StatusSeeOther)
	return nil
}

// flashParams are the query parameters that say what the last action did
// (see flash): a page the clock's buttons come back to leaves them out,
// or an old "Refunded 7.00 USD" would be said again after every move.
var flashParams = []string{"charge", "refund", "again", "revoked", "error", "moved", "by", "resent", "sandbox", "retried", "cancel"}

// clockReturn is the page the clock's buttons come back to: this one,
// without its flash, at the billing box on a mandate's page (the part
// a move changes).
func clockReturn(r *http.Request) string {
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/admin") {
		return "/admin"
	}
	q := r.URL.Query()
	for _, p := range flashParams {
		q.Del(p)
	}
	ret := r.URL.Path
	if len(q) > 0 {
		ret += "?" + q.Encode()
	}
	if strings.HasPrefix(r.URL.Path, "/admin/mandates/") {
		ret += "#billing"
	}
	return ret
}

// withMoved adds to a page the word of a clock move: by how much, and how
// many payments it made (see movedFlash).
func withMoved(page string, by time.Duration, charged int) string {
	path, frag, _ := strings.Cut(page, "#")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	unit := "day"
	if by > 24*time.Hour {
		unit = "period"
	}
	path += sep + "moved=" + strconv.Itoa(charged) + "&by=" + unit
	if frag != "" {
		path += "#" + frag
	}
	return path
}

// movedFlash says what a clock move did, from withMoved's parameters.
func (h *handler) movedFlash(r *http.Request) string {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("moved"))
	if err != nil || n < 0 || h.admin.Clock == nil {
		return ""
	}
	what := "one day"
	if q.Get("by") == "period" {
		what = "one " + string(h.plan.Interval)
	}
	now := h.admin.Clock.Now().UTC().Format("Mon 2 Jan 2006")
	switch n {
	case 0:
		return "The clock moved " + what + ", to " + now + ": no payment was due."
	case 1:
		return "The clock moved " + what + ", to " + now + ": 1 payment fell due and was tried."
	default:
		return "The clock moved " + what + ", to " + now + ": " + strconv.Itoa(n) + " payments fell due and were tried."
	}
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
