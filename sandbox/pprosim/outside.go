package pprosim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// What happens to an agreement outside the app in real life, played from
// the sandbox's index page: the shopper revokes the permission in their
// Amazon account, or Amazon Pay ends it. PPRO reports both only by webhook
// (PAYMENT_AGREEMENT_REVOKED_BY_CONSUMER / _BY_PROVIDER) and in the
// agreement (status, history, revocations[]), which is all the app can see.

// indexAgreementLimit is how many of the newest agreements the index lists.
const indexAgreementLimit = 50

// indexAgreement is one row of the index page's list.
type indexAgreement struct {
	ID           string
	Reference    string // merchantPaymentAgreementReference
	ConsumerName string
	Status       string
	RevokeAction string // the revocation form's action; only for an ACTIVE agreement
	ApprovalURL  string // the approval page; only while it waits for the shopper
}

// outsideRevocations maps the index page's buttons (form field "by") to
// the status each revocation gives.
var outsideRevocations = map[string]string{
	"consumer": agreementRevokedByConsumer,
	"provider": agreementRevokedByProvider,
}

func (s *Sim) pproOutsideRoutes(mux *http.ServeMux, pages *simkit.Pages) {
	mux.Handle("POST /sandbox/ppro/agreements/{id}/revocations", pages.Page(s.handlePPROOutsideRevocation))
}

// indexAgreements lists the configured merchant's newest agreements as
// the app would read them now (one whose authentication timed out shows
// FAILED).
func (s *Sim) indexAgreements(ctx context.Context) ([]indexAgreement, error) {
	s.host.Lock()
	defer s.host.Unlock()
	var out []indexAgreement
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		if err := s.pproCatchUp(ctx, tx, s.host.Now()); err != nil {
			return err
		}
		ids, err := listPPROAgreementIDs(ctx, tx, s.cfg.MerchantID, indexAgreementLimit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			a, err := s.pproAgreement(ctx, tx, id)
			if err != nil {
				return err
			}
			row := indexAgreement{ID: a.ID, Reference: a.MerchantPaymentAgreementReference, ConsumerName: a.Consumer.Name, Status: a.Status}
			switch {
			case a.Status == agreementActive:
				row.RevokeAction = s.host.BasePath() + "/ppro/agreements/" + a.ID + "/revocations"
			case a.pending():
				row.ApprovalURL = s.host.BasePath() + "/ppro/authenticate/" + a.ID
			}
			out = append(out, row)
		}
		return nil
	})
	return out, err
}

// handlePPROOutsideRevocation revokes an ACTIVE agreement as the shopper or
// as Amazon Pay (form field "by") and answers 303 back to the index, which
// shows the new status. An agreement that is no longer ACTIVE (a second
// click, a stale page) changes nothing, and the page says so.
func (s *Sim) handlePPROOutsideRevocation(w http.ResponseWriter, r *http.Request) {
	if !s.parseIndexForm(w, r) {
		return
	}
	status, ok := outsideRevocations[r.PostForm.Get("by")]
	if !ok {
		s.indexRefusal(w, r, http.StatusBadRequest, "Choose who revokes the agreement", "The shopper or Amazon Pay; nothing was changed.")
		return
	}

	s.host.Lock()
	defer s.host.Unlock()
	var (
		a       *pproAgreement
		revoked bool
	)
	err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) (err error) {
		if a, err = s.pproAgreement(r.Context(), tx, r.PathValue("id")); err != nil || a.Status != agreementActive {
			return err
		}
		revoked = true
		return s.pproRevokeAs(r.Context(), tx, a, status, s.host.Now())
	})
	switch {
	case errors.Is(err, simkit.ErrNotFound):
		s.indexRefusal(w, r, http.StatusNotFound, "There is no such agreement", "It may belong to another sandbox database; nothing was changed.")
	case err != nil:
		s.host.ServerError(w, r, s.indexMeta(), err)
	case !revoked:
		s.indexRefusal(w, r, http.StatusConflict, "This agreement is not active",
			fmt.Sprintf("Payment agreement %s is %s, and only an active agreement can be revoked. Nothing was changed.", a.ID, a.Status))
	default:
		q := url.Values{"ppro_revoked": {a.ID}, "by": {r.PostForm.Get("by")}}
		http.Redirect(w, r, s.host.BasePath()+"/?"+q.Encode()+"#ppro-agreements", http.StatusSeeOther)
	}
}

// revocationNotice confirms a revocation made on the index page, from the
// query it came back with (an agreement id of PPRO's form, and who).
func revocationNotice(q url.Values) string {
	id := q.Get("ppro_revoked")
	if !strings.HasPrefix(id, "agr_") || len(id) > 40 || strings.ContainsAny(id, " <>\"'&") {
		return ""
	}
	switch q.Get("by") {
	case "consumer":
		return "Payment agreement " + id + " is revoked, as the shopper would in their Amazon account. PPRO sends the storefront a webhook; the mandate shows revoked in a moment."
	case "provider":
		return "Payment agreement " + id + " is revoked by Amazon Pay. PPRO sends the storefront a webhook; the mandate shows revoked in a moment."
	}
	return ""
}

// Forms posted from the index page's controls are answered with a 303
// back to the index, or with a message that links back to it.

// indexMeta is the page meta of those messages.
func (s *Sim) indexMeta() simkit.PageMeta {
	return s.host.Meta("Payment sandbox", simkit.ThemeSandbox, "")
}

// parseIndexForm reads a form posted from the index page. When it cannot,
// it has answered 400 and returns false.
func (s *Sim) parseIndexForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.indexRefusal(w, r, http.StatusBadRequest, "The form could not be read", "Go back and try again; nothing was changed.")
		return false
	}
	return true
}

// indexRefusal answers a form posted from the index page with status and
// a message, linking back to the index.
func (s *Sim) indexRefusal(w http.ResponseWriter, r *http.Request, status int, title, body string) {
	s.host.RenderMessage(w, r, status, s.indexMeta(), simkit.MessageView{
		Title: title, Body: body, LinkURL: s.host.BasePath() + "/", LinkText: "Back to the sandbox index",
	})
}
