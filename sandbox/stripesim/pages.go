package stripesim

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"example.com/storefront/sandbox/simkit"
)

// The pages a shopper sees at "Stripe": the hosted Checkout page and the
// Amazon Pay approval page it redirects to.

func (s *Sim) stripePageRoutes(mux *http.ServeMux, pages *simkit.Pages) {
	mux.Handle("GET /sandbox/stripe/checkout/{id}", pages.Page(s.handleStripeCheckout))
	mux.Handle("POST /sandbox/stripe/checkout/{id}", pages.Page(s.handleStripeCheckoutSubmit))
	mux.Handle("GET /sandbox/stripe/amazon-pay/{id}", pages.Page(s.handleAmazonPay))
	mux.Handle("POST /sandbox/stripe/amazon-pay/{id}", pages.Page(s.handleAmazonPaySubmit))
}

// checkoutView is the hosted Checkout page.
type checkoutView struct {
	SessionID     string
	Action        string // where the forms post
	Message       string // custom_text[submit][message]: the mandate sentence
	CustomerName  string
	CustomerEmail string
	CancelURL     string
	Error         string // the SetupIntent's last_setup_error
	AmazonPay     bool
	Card          bool
	CardNumber    string // what the shopper typed, when the form comes back; empty at first
	CardError     string
}

// amazonPayView is the Amazon Pay approval page.
type amazonPayView struct {
	Action        string
	Message       string // custom_text[submit][message]: what the shop asks the shopper to approve
	BuyerName     string
	BuyerEmail    string
	SetupIntentID string
}

// stripeFlow is what the pages load: a session (lazily expired, read with
// its Customer, if any) and its SetupIntent.
type stripeFlow struct {
	session *stripeCheckoutSession
	intent  *stripeSetupIntent
}

func (s *Sim) loadStripeFlow(ctx context.Context, tx *simkit.WriteTx, sessionID string) (*stripeFlow, error) {
	return s.loadFlow(ctx, tx, "s.id = ?", sessionID)
}

// loadFlow loads the flow of the session where finds (see
// loadFlowSession).
func (s *Sim) loadFlow(ctx context.Context, tx *simkit.WriteTx, where string, arg any) (*stripeFlow, error) {
	cs, si, err := loadFlowSession(ctx, tx, where, arg)
	if err != nil {
		return nil, err
	}
	if cs, err = s.stripeSessionAsSeen(ctx, tx, cs); err != nil {
		return nil, err
	}
	return &stripeFlow{session: cs, intent: si}, nil
}

// buyer is how the pages name the shopper: the Customer, or the email the
// session was given.
func (f *stripeFlow) buyer() (name, email string) {
	if c := f.session.customer; c != nil {
		return simkit.Deref(c.Name), simkit.Deref(c.Email)
	}
	return "", simkit.Deref(f.session.CustomerEmail)
}

func (s *Sim) checkoutView(f *stripeFlow) checkoutView {
	name, email := f.buyer()
	v := checkoutView{
		SessionID:     f.session.ID,
		Action:        s.host.BasePath() + "/stripe/checkout/" + f.session.ID,
		CustomerName:  name,
		CustomerEmail: email,
		CancelURL:     simkit.Deref(f.session.CancelURL),
		AmazonPay:     slices.Contains(f.session.PaymentMethodTypes, pmTypeAmazonPay),
		Card:          slices.Contains(f.session.PaymentMethodTypes, pmTypeCard),
	}
	if f.session.CustomText.Submit != nil {
		v.Message = f.session.CustomText.Submit.Message
	}
	if f.intent.LastSetupError != nil {
		v.Error = f.intent.LastSetupError.Message
	}
	return v
}

// stripeGone is the page for a session that is over, with the way back
// to the shop: where Checkout would have sent the shopper (success_url
// once complete, cancel_url once expired). An expired session without a
// cancel_url links to the shop's site, the origin of its success_url.
// (An unknown id gets the Host's NotFound page.)
func (s *Sim) stripeGone(w http.ResponseWriter, r *http.Request, m simkit.PageMeta, cs *stripeCheckoutSession) {
	v := simkit.MessageView{Title: "This page is no longer available", LinkText: "Return to " + m.Merchant}
	if cs.Status == sessionComplete {
		v.Body = "This checkout session is already complete: future payments to " + m.Merchant +
			" are set up. Nothing more needs to be done here."
		v.LinkURL = stripeSuccessURL(cs)
	} else {
		v.Body = "This checkout session has expired, so nothing can be set up here any more. Go back to " +
			m.Merchant + " to start again."
		v.LinkURL = simkit.Deref(cs.CancelURL)
		if v.LinkURL == "" {
			v.LinkURL = siteOf(cs.SuccessURL)
		}
	}
	s.host.RenderMessage(w, r, http.StatusGone, m, v)
}

// siteOf is the root of the site that u is on ("https://shop.example/").
func siteOf(u string) string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return ""
	}
	return parsed.Scheme + "://" + parsed.Host + "/"
}

func (s *Sim) handleStripeCheckout(w http.ResponseWriter, r *http.Request) {
	m := s.host.Meta("Set up future payments", simkit.ThemeStripe, "Stripe Checkout")
	s.host.Lock()
	defer s.host.Unlock()
	var f *stripeFlow
	err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) (err error) {
		f, err = s.loadStripeFlow(r.Context(), tx, r.PathValue("id"))
		return err
	})
	switch {
	case errors.Is(err, simkit.ErrNotFound):
		s.host.NotFound(w, r, simkit.ThemeStripe, "Stripe Checkout")
	case err != nil:
		s.host.ServerError(w, r, m, err)
	case f.session.Status != sessionOpen:
		s.stripeGone(w, r, m, f.session)
	default:
		s.host.Render(w, r, http.StatusOK, stripeCheckoutPage(m, s.checkoutView(f)))
	}
}

// handleStripeCheckoutSubmit handles the two choices on the Checkout page.
func (s *Sim) handleStripeCheckoutSubmit(w http.ResponseWriter, r *http.Request) {
	m := s.host.Meta("Set up future payments", simkit.ThemeStripe, "Stripe Checkout")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.host.RenderMessage(w, r, http.StatusBadRequest, m, simkit.MessageView{Title: "The form could not be read", Body: "Go back and try again."})
		return
	}

	s.host.Lock()
	defer s.host.Unlock()
	var f *stripeFlow
	var res choiceResult
	err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) (err error) {
		if f, err = s.loadStripeFlow(r.Context(), tx, r.PathValue("id")); err != nil {
			return err
		}
		res, err = s.stripeCheckoutChoice(r.Context(), tx, f, r.PostForm, acceptanceFrom(r))
		return err
	})
	switch {
	case errors.Is(err, simkit.ErrNotFound):
		s.host.NotFound(w, r, simkit.ThemeStripe, "Stripe Checkout")
	case err != nil:
		s.host.ServerError(w, r, m, err)
	case res.redirect != "":
		http.Redirect(w, r, res.redirect, http.StatusSeeOther)
	case res.status == http.StatusGone:
		s.stripeGone(w, r, m, f.session)
	case res.status == http.StatusConflict:
		s.host.RenderMessage(w, r, res.status, m, simkit.MessageView{
			Title: "Future payments are already set up",
			Body:  "This checkout session has already saved a payment method; nothing was changed.",
		})
	case res.status == http.StatusBadRequest:
		s.host.RenderMessage(w, r, res.status, m, simkit.MessageView{
			Title:    "Choose a payment method",
			Body:     "Choose one of the payment methods this checkout session offers.",
			LinkURL:  s.host.BasePath() + "/stripe/checkout/" + f.session.ID,
			LinkText: "Back to checkout",
		})
	default: // the card form again: declined (402) or not a test card (422)
		// Reload, because a decline has just set last_setup_error.
		if err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) (err error) {
			f, err = s.loadStripeFlow(r.Context(), tx, f.session.ID)
			return err
		}); err != nil {
			s.host.ServerError(w, r, m, err)
			return
		}
		v := s.checkoutView(f)
		v.CardNumber = r.PostForm.Get("card_number")
		v.CardError = res.cardError
		s.host.Render(w, r, res.status, stripeCheckoutPage(m, v))
	}
}

// choiceResult is where a choice on the Checkout page leads: a redirect,
// or a page with an error status.
type choiceResult struct {
	redirect  string
	status    int
	cardError string
}

// stripeCheckoutChoice applies the shopper's choice (form field method:
// amazon_pay or card) to the flow; acc is how they accepted, for the
// mandate of a saved card.
func (s *Sim) stripeCheckoutChoice(ctx context.Context, tx *simkit.WriteTx, f *stripeFlow, form url.Values, acc shopperAcceptance) (choiceResult, error) {
	cs, si := f.session, f.intent
	if cs.Status != sessionOpen {
		return choiceResult{status: http.StatusGone}, nil
	}
	// A new attempt can start before any, or while the shopper is away
	// at Amazon Pay (they may come back and choose again), not after
	// success.
	if si.Status != setupRequiresPaymentMethod && si.Status != setupRequiresAction {
		return choiceResult{status: http.StatusConflict}, nil
	}
	method := form.Get("method")
	if !slices.Contains(cs.PaymentMethodTypes, method) {
		return choiceResult{status: http.StatusBadRequest}, nil
	}

	if method == pmTypeAmazonPay {
		approval := s.host.PageURL("/stripe/amazon-pay/" + si.ID)
		si.Status = setupRequiresAction
		si.LastSetupError = nil
		si.NextAction = &stripeNextAction{
			Type:          "redirect_to_url",
			RedirectToURL: &stripeRedirectToURL{URL: approval, ReturnURL: s.host.PageURL("/stripe/checkout/" + cs.ID)},
		}
		return choiceResult{redirect: approval}, updateStripeSetupIntent(ctx, tx, si)
	}

	card, declined, ok := stripeTestCard(normalizeCardNumber(form.Get("card_number")), s.host.Now().Year()+3)
	switch {
	case !ok:
		return choiceResult{
			status:    http.StatusUnprocessableEntity,
			cardError: "The sandbox accepts only its test cards: 4242 4242 4242 4242 is saved, 4000 0000 0000 0002 is declined.",
		}, nil
	case declined:
		decline := newStripeError(http.StatusPaymentRequired, errTypeCard, "card_declined", "", "Your card was declined.")
		decline.DeclineCode = "generic_decline"
		return choiceResult{status: http.StatusPaymentRequired}, s.stripeFailSetup(ctx, tx, si, decline)
	}
	pm := s.stripeNewPaymentMethod(cs, pmTypeCard)
	pm.Card = card
	return choiceResult{redirect: stripeSuccessURL(cs)}, s.stripeCompleteSetup(ctx, tx, cs, si, pm, acc)
}

func (s *Sim) handleAmazonPay(w http.ResponseWriter, r *http.Request) {
	m := s.host.Meta("Amazon Pay", simkit.ThemeAmazonPay, "Amazon Pay")
	s.host.Lock()
	defer s.host.Unlock()
	var f *stripeFlow
	err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) (err error) {
		f, err = s.loadAmazonPayFlow(r.Context(), tx, r.PathValue("id"))
		return err
	})
	switch {
	case errors.Is(err, simkit.ErrNotFound):
		s.host.NotFound(w, r, simkit.ThemeAmazonPay, "Amazon Pay")
	case err != nil:
		s.host.ServerError(w, r, m, err)
	case f.session.Status != sessionOpen:
		s.stripeGone(w, r, m, f.session)
	case f.intent.Status != setupRequiresAction:
		s.amazonPayNothingPending(w, r, m, f)
	default:
		s.host.Render(w, r, http.StatusOK, amazonPayPage(m, s.amazonPayView(f)))
	}
}

// loadAmazonPayFlow loads the flow behind an approval page, which is
// addressed by its SetupIntent.
func (s *Sim) loadAmazonPayFlow(ctx context.Context, tx *simkit.WriteTx, setupIntentID string) (*stripeFlow, error) {
	return s.loadFlow(ctx, tx, "s.setup_intent_id = ?", setupIntentID)
}

func (s *Sim) amazonPayView(f *stripeFlow) amazonPayView {
	name, email := f.buyer()
	v := amazonPayView{
		Action:        s.host.BasePath() + "/stripe/amazon-pay/" + f.intent.ID,
		BuyerName:     name,
		BuyerEmail:    email,
		SetupIntentID: f.intent.ID,
	}
	if f.session.CustomText.Submit != nil {
		v.Message = f.session.CustomText.Submit.Message
	}
	return v
}

func (s *Sim) amazonPayNothingPending(w http.ResponseWriter, r *http.Request, m simkit.PageMeta, f *stripeFlow) {
	s.host.RenderMessage(w, r, http.StatusConflict, m, simkit.MessageView{
		Title:    "Nothing is waiting for your approval",
		Body:     "This request was already answered, or it was never sent to Amazon Pay. Nothing was changed.",
		LinkURL:  s.host.BasePath() + "/stripe/checkout/" + f.session.ID,
		LinkText: "Back to checkout",
	})
}

func (s *Sim) handleAmazonPaySubmit(w http.ResponseWriter, r *http.Request) {
	m := s.host.Meta("Amazon Pay", simkit.ThemeAmazonPay, "Amazon Pay")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.host.RenderMessage(w, r, http.StatusBadRequest, m, simkit.MessageView{Title: "The form could not be read", Body: "Go back and try again."})
		return
	}
	decision := r.PostForm.Get("decision")
	if !s.host.KnownDecision(w, r, m, decision) {
		return
	}

	s.host.Lock()
	defer s.host.Unlock()
	var (
		f        *stripeFlow
		redirect string
	)
	err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) error {
		var err error
		if f, err = s.loadAmazonPayFlow(r.Context(), tx, r.PathValue("id")); err != nil {
			return err
		}
		cs, si := f.session, f.intent
		if cs.Status != sessionOpen || si.Status != setupRequiresAction {
			return nil // the page below says why; nothing changes
		}
		switch decision {
		case simkit.DecisionApprove:
			pm := s.stripeNewPaymentMethod(cs, pmTypeAmazonPay)
			redirect = stripeSuccessURL(cs)
			return s.stripeCompleteSetup(r.Context(), tx, cs, si, pm, acceptanceFrom(r))
		case simkit.DecisionDecline:
			// Stripe sends the shopper back to Checkout to try again.
			declined := newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "setup_intent_authentication_failure", "",
				"The customer declined on Amazon Pay to allow future payments, so no payment method was set up.")
			redirect = s.host.PageURL("/stripe/checkout/" + cs.ID)
			return s.stripeFailSetup(r.Context(), tx, si, declined)
		default: // cancel: back to the merchant, no attempt recorded
			si.Status = setupRequiresPaymentMethod
			si.NextAction = nil
			redirect = s.host.PageURL("/stripe/checkout/" + cs.ID)
			if cs.CancelURL != nil {
				redirect = *cs.CancelURL
			}
			return updateStripeSetupIntent(r.Context(), tx, si)
		}
	})
	switch {
	case errors.Is(err, simkit.ErrNotFound):
		s.host.NotFound(w, r, simkit.ThemeAmazonPay, "Amazon Pay")
	case err != nil:
		s.host.ServerError(w, r, m, err)
	case redirect != "":
		http.Redirect(w, r, redirect, http.StatusSeeOther)
	case f.session.Status != sessionOpen:
		s.stripeGone(w, r, m, f.session)
	default:
		s.amazonPayNothingPending(w, r, m, f)
	}
}
