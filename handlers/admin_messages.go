package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"example.com/storefront/store"
	"example.com/storefront/views"
)

// messagesShown bounds each list of the page of undelivered messages.
const messagesShown = 200

// messageKinds are the kinds of message in the merchant's words.
var messageKinds = map[string]string{
	store.MsgConfirmed:   "Confirmation",
	store.MsgReceipt:     "Receipt",
	store.MsgDeclined:    "Payment declined",
	store.MsgEnded:       "Ended for non-payment",
	store.MsgRevoked:     "Cancellation",
	store.MsgRefund:      "Refund",
	store.MsgDispute:     "Payment disputed",
	store.MsgPriceChange: "Price change notice",
	store.MsgLink:        "Fresh link to their page",
}

func messageView(m store.Message) views.MessageView {
	v := views.MessageView{ID: m.ID, Kind: messageKinds[m.Kind], To: m.To, Status: m.Status, Created: m.CreatedAt.UTC().Format(dashboardTime),
		Attempts: m.Attempts, LastError: m.LastError}
	if v.Kind == "" {
		v.Kind = m.Kind
	}
	if !m.SentAt.IsZero() {
		v.Sent = m.SentAt.UTC().Format(dashboardTime)
	}
	if m.Status == store.MessagePending && m.Attempts > 0 {
		v.NextTry = m.NextAttemptAt.UTC().Format(dashboardTime)
	}
	return v
}

// messageAlert counts the messages that need the merchant, for the
// dashboard's banner.
func (h *handler) messageAlert(ctx context.Context) (views.MessageAlert, error) {
	c, err := h.store.CountMessages(ctx)
	if err != nil {
		return views.MessageAlert{}, err
	}
	return views.MessageAlert{Failed: c.Failed, Pending: c.Pending, NoDelivery: !h.mailDelivery}, nil
}

// adminMessages lists the emails to shoppers that were given up (with a
// button to send each again) and those still waiting.
func (h *handler) adminMessages(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	page := views.AdminMessages{AdminChrome: h.adminChrome(r, "Emails to shoppers"), Shown: messagesShown}
	var err error
	if page.Alert, err = h.messageAlert(ctx); err != nil {
		return err
	}
	failed, err := h.store.UndeliveredMessages(ctx, store.MessageFailed, messagesShown)
	if err != nil {
		return err
	}
	pending, err := h.store.UndeliveredMessages(ctx, store.MessagePending, messagesShown)
	if err != nil {
		return err
	}
	// One token for the page's forms: one press spends it, and the page
	// that comes back has a new one.
	var token string
	if len(failed) > 0 {
		if token, err = h.store.IssueAdminToken(ctx, "resend"); err != nil {
			return err
		}
	}
	view := func(m store.Message) views.MessageView {
		v := messageView(m)
		if m.MandateID != "" {
			v.MandateURL, v.Shopper = "/admin/mandates/"+url.PathEscape(m.MandateID), "the mandate"
		}
		if m.Status == store.MessageFailed {
			v.ResendToken = token
		}
		return v
	}
	for _, m := range failed {
		page.Failed = append(page.Failed, view(m))
	}
	for _, m := range pending {
		page.Pending = append(page.Pending, view(m))
	}
	switch r.URL.Query().Get("resent") {
	case "":
	case "0":
		page.Flash = "That email was not waiting to be sent again (it was sent, or the form was sent twice)."
	default:
		page.Flash = "The email goes out again within seconds."
	}
	h.render(w, r, http.StatusOK, views.AdminMessagesPage(page))
	return nil
}

// adminResendMessage puts a failed message back in the queue.
func (h *handler) adminResendMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errNotFound
	}
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	err = h.store.UseAdminToken(r.Context(), r.PostForm.Get("token"), "resend")
	if errors.Is(err, store.ErrTokenUsed) || errors.Is(err, store.ErrBadToken) {
		http.Redirect(w, r, "/admin/messages?resent=0", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	resent, err := h.store.ResendMessage(r.Context(), id)
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "email to a shopper sent again by the merchant", "request_id", RequestID(r.Context()),
		"message_id", id, "resent", resent)
	to := "/admin/messages?resent=1"
	if !resent {
		to = "/admin/messages?resent=0"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
