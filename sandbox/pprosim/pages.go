package pprosim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// The page a shopper sees when PPRO redirects them to Amazon Pay: the
// approval of a payment agreement (and of its initial charge, if any).

const pproPageProvider = "Amazon Pay, reached through PPRO"

func (s *Sim) pproPageRoutes(mux *http.ServeMux, pages *simkit.Pages) {
	mux.Handle("GET /sandbox/ppro/authenticate/{id}", pages.Page(s.handlePPROAuthenticate))
	// The POST handler checks cross-origin requests itself: the merchant's
	// page may POST the shopper here from another site (RedirectMethod
	// POST), which changes nothing, while the decisions must come from the
	// sandbox's own form.
	mux.Handle("POST /sandbox/ppro/authenticate/{id}", pages.Headers(s.handlePPROAuthenticatePost(pages)))
}

// pproAuthView is the authentication page.
type pproAuthView struct {
	AgreementID   string
	Action        string // where the decision form posts
	ConsumerName  string
	ConsumerEmail string
	PayNow        string // the initial charge, "12.00 USD", or ""
	Summary       pproSummary
	Description   string
}

// pproSummary is the short summary at the top of the approval page,
// written for it from the agreement: who asks, what the shopper pays today
// and later, and the mode.
type pproSummary struct {
	Merchant string
	Today    string // "12.00 USD today", or "" without an initial charge
	Future   string // "12.00 USD every month", or "An amount agreed with <merchant>"
	Mode     string // one word: "Sandbox"
}

// pproMode is the approval page's word for where it runs: it is the
// sandbox's page, never Amazon Pay's.
const pproMode = "Sandbox"

func (s *Sim) pproAuthView(a *pproAgreement, initial *pproCharge) pproAuthView {
	merchant := s.host.MerchantName()
	v := pproAuthView{
		AgreementID:   a.ID,
		Action:        s.host.BasePath() + "/ppro/authenticate/" + a.ID,
		ConsumerName:  a.Consumer.Name,
		ConsumerEmail: a.Consumer.Email,
		Summary:       pproSummary{Merchant: merchant, Future: pproFutureText(a, merchant), Mode: pproMode},
		Description:   a.Description,
	}
	if initial != nil {
		v.PayNow = formatUSD(initial.amount, initial.Currency)
		v.Summary.Today = v.PayNow + " today"
	}
	return v
}

// pproFutureText describes the agreement's later charges from its amount,
// amountType, frequency and endDate, as far as the merchant gave them:
// "12.00 USD every month", "Up to 12.00 USD every 3 months until
// 2027-01-31", or "An amount agreed with <merchant>" when it states no
// amount.
func pproFutureText(a *pproAgreement, merchant string) string {
	text := "an amount agreed with " + merchant
	if a.Amount != nil {
		amount := formatUSD(a.Amount.Value, a.Amount.Currency)
		switch a.AmountType {
		case "MAX":
			text = "up to " + amount
		case "VARIABLE":
			text = "a varying amount, for example " + amount + ","
		default: // EXACT, or no amountType: the amount as stated
			text = amount
		}
	}
	if f := a.Frequency; f != nil {
		unit := map[string]string{"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}[f.Type]
		if f.Interval > 1 {
			text += fmt.Sprintf(" every %d %ss", f.Interval, unit)
		} else {
			text += " every " + unit
		}
	}
	text = strings.TrimSuffix(text, ",")
	if a.EndDate != "" {
		text += " until " + a.EndDate[:len(time.DateOnly)]
	}
	return strings.ToUpper(text[:1]) + text[1:]
}

func (s *Sim) pproPageMeta() simkit.PageMeta {
	return s.host.Meta("Amazon Pay", simkit.ThemeAmazonPay, pproPageProvider)
}

// pproPageState is what the page loads: the agreement (timed out if due)
// and its initial charge.
type pproPageState struct {
	agreement *pproAgreement
	initial   *pproCharge
}

func (s *Sim) loadPPROPage(r *http.Request, tx *simkit.WriteTx) (*pproPageState, error) {
	a, err := s.pproAgreement(r.Context(), tx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	st := &pproPageState{agreement: a}
	if a.InitialPaymentChargeID != "" {
		if st.initial, err = loadPPROCharge(r.Context(), tx, a.InitialPaymentChargeID); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (s *Sim) handlePPROAuthenticate(w http.ResponseWriter, r *http.Request) {
	s.pproShowPage(w, r)
}

// pproShowPage renders the authentication page, or says why there is
// nothing to authenticate.
func (s *Sim) pproShowPage(w http.ResponseWriter, r *http.Request) {
	m := s.pproPageMeta()
	s.host.Lock()
	defer s.host.Unlock()
	var st *pproPageState
	err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) (err error) {
		st, err = s.loadPPROPage(r, tx)
		return err
	})
	switch {
	case errors.Is(err, simkit.ErrNotFound):
		s.host.NotFound(w, r, simkit.ThemeAmazonPay, pproPageProvider)
	case err != nil:
		s.host.ServerError(w, r, m, err)
	case !st.agreement.pending():
		s.pproNotPending(w, r, st.agreement)
	default:
		s.host.Render(w, r, http.StatusOK, pproAuthPage(m, s.pproAuthView(st.agreement, st.initial)))
	}
}

// pproNotPending answers for an agreement that no longer waits for the
// shopper (a used approval page, a stale tab, the back button): it says
// what became of the request and links back to the shop, at the
// agreement's returnUrl, where the app shows the outcome. 410 once it
// timed out, 409 once it was answered. Nothing changes.
func (s *Sim) pproNotPending(w http.ResponseWriter, r *http.Request, a *pproAgreement) {
	merchant := s.host.MerchantName()
	v := simkit.MessageView{
		Title:    "Nothing is waiting for your approval",
		Body:     "This request was already answered on Amazon Pay. Nothing was changed.",
		LinkURL:  a.returnURL,
		LinkText: "Return to " + merchant,
	}
	status := http.StatusConflict
	switch {
	case a.Failure != nil && a.Failure.FailureCode == codePaymentMethodTimeout:
		status = http.StatusGone
		v.Title = "This request has expired"
		v.Body = "Amazon Pay waits one hour for an answer, and this request is older. Go back to " + merchant + " to start again."
	case a.Status == agreementActive:
		v.Body = "You already allowed " + merchant + " to charge your Amazon Pay account. Nothing was changed."
	case a.Status == agreementFailed && a.Failure != nil:
		if a.Failure.FailureCode == codeCanceledByConsumer {
			v.Body = "You canceled this request on Amazon Pay. Nothing was changed; go back to " + merchant + " to start again."
		} else {
			v.Body = "You declined this request on Amazon Pay. Nothing was changed; go back to " + merchant + " to start again."
		}
	case a.Status == agreementRevokedByConsumer, a.Status == agreementRevokedByMerchant, a.Status == agreementRevokedByProvider:
		v.Body = "You allowed these payments earlier, and the permission has since ended. Nothing was changed."
	}
	s.host.RenderMessage(w, r, status, s.pproPageMeta(), v)
}

// handlePPROAuthenticatePost serves both POSTs to the page's address: the
// shopper's decision (a form field "decision", from the sandbox's own page,
// so cross-origin requests are refused) and, with RedirectMethod POST, the
// merchant's redirect, which only shows the page.
func (s *Sim) handlePPROAuthenticatePost(pages *simkit.Pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := s.pproPageMeta()
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.host.RenderMessage(w, r, http.StatusBadRequest, m, simkit.MessageView{Title: "The form could not be read", Body: "Go back and try again."})
			return
		}
		if !r.PostForm.Has("decision") {
			if s.cfg.RedirectMethod == http.MethodPost {
				s.pproShowPage(w, r)
				return
			}
			s.host.RenderMessage(w, r, http.StatusBadRequest, m, simkit.MessageView{
				Title: "Choose approve, decline or cancel",
				Body:  "The sandbox did not understand the answer; nothing was changed.",
			})
			return
		}
		if !pages.SameOrigin(w, r) {
			return
		}
		s.pproDecision(w, r, r.PostForm.Get("decision"))
	}
}

func (s *Sim) pproDecision(w http.ResponseWriter, r *http.Request, decision string) {
	m := s.pproPageMeta()
	if !s.host.KnownDecision(w, r, m, decision) {
		return
	}
	s.host.Lock()
	defer s.host.Unlock()
	var (
		st      *pproPageState
		decided bool
	)
	err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) (err error) {
		if st, err = s.loadPPROPage(r, tx); err != nil {
			return err
		}
		if !st.agreement.pending() {
			return nil // the page below says why; nothing changes
		}
		decided = true
		return s.pproDecide(r.Context(), tx, st.agreement, decision)
	})
	switch {
	case errors.Is(err, simkit.ErrNotFound):
		s.host.NotFound(w, r, simkit.ThemeAmazonPay, pproPageProvider)
	case err != nil:
		s.host.ServerError(w, r, m, err)
	case !decided:
		s.pproNotPending(w, r, st.agreement)
	default:
		// Back to the merchant, to returnUrl exactly as given: PPRO
		// appends nothing, whatever the outcome.
		http.Redirect(w, r, st.agreement.returnURL, http.StatusSeeOther)
	}
}
