package pprosim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

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
	Future        string // what later charges may be, e.g. "Up to 12.00 USD every month", or ""
	Until         string // the agreement's endDate as a date, or ""
	Description   string
}

func (s *Sim) pproAuthView(a *pproAgreement, initial *pproCharge) pproAuthView {
	v := pproAuthView{
		AgreementID:   a.ID,
		Action:        s.host.BasePath() + "/ppro/authenticate/" + a.ID,
		ConsumerName:  a.Consumer.Name,
		ConsumerEmail: a.Consumer.Email,
		Future:        pproFutureText(a),
		Description:   a.Description,
	}
	if a.EndDate != "" {
		v.Until = a.EndDate[:len("2006-01-02")]
	}
	if initial != nil {
		v.PayNow = formatUSD(initial.amount, initial.Currency)
	}
	return v
}

// pproFutureText describes the agreement's later charges from its amount,
// amountType and frequency, as far as the merchant gave them.
func pproFutureText(a *pproAgreement) string {
	var parts []string
	if a.Amount != nil {
		amount := formatUSD(a.Amount.Value, a.Amount.Currency)
		switch a.AmountType {
		case "MAX":
			parts = append(parts, "Up to "+amount)
		case "VARIABLE":
			parts = append(parts, "Varying amounts (for example "+amount+")")
		default:
			parts = append(parts, amount)
		}
	}
	if f := a.Frequency; f != nil {
		unit := map[string]string{"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}[f.Type]
		if f.Interval > 1 {
			parts = append(parts, fmt.Sprintf("every %d %ss", f.Interval, unit))
		} else {
			parts = append(parts, "every "+unit)
		}
	}
	text := strings.Join(parts, " ")
	if text != "" {
		text = strings.ToUpper(text[:1]) + text[1:]
	}
	return text
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
// shopper: 410 once it has timed out, 409 once it was answered. Nothing
// changes.
func (s *Sim) pproNotPending(w http.ResponseWriter, r *http.Request, a *pproAgreement) {
	v := simkit.MessageView{
		Title:    "Nothing is waiting for your approval",
		Body:     "This request was already answered on Amazon Pay. Nothing was changed.",
		LinkURL:  a.returnURL,
		LinkText: "Return to " + s.host.MerchantName(),
	}
	status := http.StatusConflict
	if a.Failure != nil && a.Failure.FailureCode == codePaymentMethodTimeout {
		status = http.StatusGone
		v.Title = "This request has expired"
		v.Body = "Amazon Pay waits one hour for an answer, and this request is older. Go back to the merchant to start again."
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
