package stripesim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// State transitions shared by the API and the hosted pages. Each runs
// inside the caller's transaction and emits the events Stripe would.

// stripeSession loads a Checkout Session as every reader must see it: an
// open session past its expires_at is expired first. Stripe expires
// sessions in the background; the sandbox does it when someone looks,
// which nobody can tell apart.
func (s *Sim) stripeSession(ctx context.Context, tx *simkit.WriteTx, id string) (*stripeCheckoutSession, error) {
	cs, err := loadStripeCheckoutSession(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return s.stripeSessionAsSeen(ctx, tx, cs)
}

// stripeSessionAsSeen is cs as a reader sees it (see stripeSession).
func (s *Sim) stripeSessionAsSeen(ctx context.Context, tx *simkit.WriteTx, cs *stripeCheckoutSession) (*stripeCheckoutSession, error) {
	if cs.Status == sessionOpen && s.host.Now().Unix() >= cs.ExpiresAt {
		return s.stripeExpireSession(ctx, tx, cs.ID, nil)
	}
	s.stripeSessionURL(cs)
	return cs, nil
}

// stripeSessionURL sets url: the hosted page while the session is open,
// null afterwards.
func (s *Sim) stripeSessionURL(cs *stripeCheckoutSession) {
	cs.URL = nil
	if cs.Status == sessionOpen {
		u := s.host.PageURL("/stripe/checkout/" + cs.ID)
		cs.URL = &u
	}
}

// stripeExpireSession expires an open session. The SetupIntent is left as
// it is: Stripe documents nothing about it, and the pages refuse to act on
// an intent whose session is not open.
func (s *Sim) stripeExpireSession(ctx context.Context, tx *simkit.WriteTx, id string, req *stripeRequest) (*stripeCheckoutSession, error) {
	if err := updateStripeCheckoutSessionStatus(ctx, tx, id, sessionExpired); err != nil {
		return nil, err
	}
	cs, err := loadStripeCheckoutSession(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.stripeEmit(ctx, tx, eventCheckoutSessionExpired, cs, req); err != nil {
		return nil, err
	}
	return cs, nil
}

// stripeCompleteSetup saves pm, attaches it to the session's customer,
// makes its mandate with the shopper's acceptance (unless the settings
// say otherwise), marks the SetupIntent
// succeeded and the session complete.
func (s *Sim) stripeCompleteSetup(ctx context.Context, tx *simkit.WriteTx, cs *stripeCheckoutSession, si *stripeSetupIntent,
	pm *stripePaymentMethod, acc shopperAcceptance) error {
	if err := insertStripePaymentMethod(ctx, tx, pm); err != nil {
		return err
	}
	si.Status = setupSucceeded
	si.paymentMethodID = &pm.ID
	// With SetupWithoutMandate the SetupIntent succeeds with mandate
	// null, which Stripe's SetupIntent allows: the app must not take a
	// missing mandate for an active one it has not seen.
	if !s.Settings().SetupWithoutMandate {
		m, err := s.stripeNewMandate(ctx, tx, pm, acc)
		if err != nil {
			return err
		}
		si.mandateID = &m.ID
	}
	si.NextAction = nil
	si.LastSetupError = nil
	if err := updateStripeSetupIntent(ctx, tx, si); err != nil {
		return err
	}
	if err := updateStripeCheckoutSessionStatus(ctx, tx, cs.ID, sessionComplete); err != nil {
		return err
	}

	// Events carry the objects as they are now, unexpanded.
	done, err := loadStripeCheckoutSession(ctx, tx, cs.ID)
	if err != nil {
		return err
	}
	if err := s.stripeEmit(ctx, tx, eventCheckoutSessionCompleted, done, nil); err != nil {
		return err
	}
	succeeded, err := loadStripeSetupIntent(ctx, tx, si.ID)
	if err != nil {
		return err
	}
	return s.stripeEmit(ctx, tx, eventSetupIntentSucceeded, succeeded, nil)
}

// stripeFailSetup records a failed attempt: as Stripe documents, the
// SetupIntent goes back to requires_payment_method with last_setup_error,
// and setup_intent.setup_failed is sent.
func (s *Sim) stripeFailSetup(ctx context.Context, tx *simkit.WriteTx, si *stripeSetupIntent, cause *stripeError) error {
	si.Status = setupRequiresPaymentMethod
	si.paymentMethodID = nil
	si.NextAction = nil
	si.LastSetupError = cause
	if err := updateStripeSetupIntent(ctx, tx, si); err != nil {
		return err
	}
	failed, err := loadStripeSetupIntent(ctx, tx, si.ID)
	if err != nil {
		return err
	}
	return s.stripeEmit(ctx, tx, eventSetupIntentSetupFailed, failed, nil)
}

// stripeNewPaymentMethod builds a PaymentMethod of type typ for the
// session's customer. The sandbox's pages collect no billing details, so
// they come from the Customer (or the session's customer_email).
func (s *Sim) stripeNewPaymentMethod(cs *stripeCheckoutSession, typ string) *stripePaymentMethod {
	pm := &stripePaymentMethod{
		ID:       simkit.NewID("pm_", 24),
		Object:   "payment_method",
		Created:  s.host.Now().Unix(),
		Metadata: map[string]string{},
		Type:     typ,
	}
	pm.BillingDetails.Email = cs.CustomerEmail
	if c := cs.customer; c != nil {
		pm.customerID = &c.ID
		pm.Customer = c.ID
		pm.BillingDetails.Email, pm.BillingDetails.Name, pm.BillingDetails.Phone = c.Email, c.Name, c.Phone
		if c.Address != nil {
			pm.BillingDetails.Address = *c.Address
		}
	}
	if typ == pmTypeAmazonPay {
		pm.AmazonPay = &struct{}{}
	}
	return pm
}

// stripeTestCard describes the sandbox's test card numbers, after
// Stripe's: 4242… succeeds, 4000 0000 0000 0002 is declined.
func stripeTestCard(number string, expYear int) (card *stripeCard, declined bool, ok bool) {
	switch number {
	case "4242424242424242":
		sum := sha256.Sum256([]byte("sandbox-card:" + number))
		card := &stripeCard{
			Brand:        "visa",
			Country:      "US",
			DisplayBrand: "visa",
			ExpMonth:     12,
			ExpYear:      expYear,
			Fingerprint:  hex.EncodeToString(sum[:8]), // stable per number, as Stripe's is per card
			Funding:      "credit",
			Last4:        number[len(number)-4:],
			Networks:     stripeCardNetworks{Available: []string{"visa"}},
		}
		card.ThreeDSecureUsage.Supported = true
		return card, false, true
	case "4000000000000002":
		return nil, true, true
	}
	return nil, false, false
}

// normalizeCardNumber drops the spaces and dashes people type.
func normalizeCardNumber(s string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s))
}

// stripeSuccessURL is where Stripe sends the shopper after completion:
// success_url with {CHECKOUT_SESSION_ID} replaced by the session id.
func stripeSuccessURL(cs *stripeCheckoutSession) string {
	return strings.ReplaceAll(cs.SuccessURL, "{CHECKOUT_SESSION_ID}", cs.ID)
}
