package pprosim

import (
	"context"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// State transitions shared by the PPRO API and the authentication page.
// Each runs inside the caller's transaction and emits the webhooks PPRO
// would.

// pproAgreement loads an agreement as every reader must see it. One left
// AUTHENTICATION_PENDING for longer than Amazon Pay's authentication
// timeout fails first: PPRO times agreements out in the background, the
// sandbox does it when someone looks, which nobody can tell apart.
func (s *Sim) pproAgreement(ctx context.Context, tx *simkit.WriteTx, id string) (*pproAgreement, error) {
	a, err := loadPPROAgreement(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if deadline := a.created.Add(amazonPayAuthTimeout); a.pending() && s.host.Now().After(deadline) {
		// Recorded at the moment it timed out, not when it was noticed.
		if err := s.pproTimeOut(ctx, tx, a, deadline); err != nil {
			return nil, err
		}
		if a, err = loadPPROAgreement(ctx, tx, id); err != nil {
			return nil, err
		}
	}
	s.pproAuthenticationMethods(a)
	return a, nil
}

// pproAuthenticationMethods offers the REDIRECT to the sandbox's
// authentication page while, and only while, the agreement is pending.
func (s *Sim) pproAuthenticationMethods(a *pproAgreement) {
	a.AuthenticationMethods = nil
	if a.pending() {
		a.AuthenticationMethods = []pproAuthMethod{{
			Type: authTypeRedirect,
			Details: pproRedirectDetail{
				RequestURL:    s.host.PageURL("/ppro/authenticate/" + a.ID),
				RequestMethod: s.cfg.RedirectMethod,
			},
		}}
	}
}

// pproCharge loads a charge as every reader must see it: a pending initial
// charge whose agreement has timed out is discarded first, one still
// pending offers its agreement's authentication, and one whose capture is
// due is captured first (see pproCaptureIfDue).
func (s *Sim) pproCharge(ctx context.Context, tx *simkit.WriteTx, id string) (*pproCharge, error) {
	c, err := loadPPROCharge(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if c.Status == chargeCapturePending {
		return s.pproCaptureIfDue(ctx, tx, c)
	}
	if c.Status != chargeAuthenticationPending {
		return c, nil
	}
	a, err := s.pproAgreement(ctx, tx, c.agreementID)
	if err != nil {
		return nil, err
	}
	if c, err = loadPPROCharge(ctx, tx, id); err != nil {
		return nil, err
	}
	if c.Status == chargeAuthenticationPending {
		c.authentication = a.AuthenticationMethods
	}
	return c, nil
}

// pproTimeOut fails an agreement nobody authenticated in time, and
// discards its initial charge.
//
// PPRO documents the code (PAYMENT_METHOD_TIMEOUT, "Authorization not
// completed within timeout limit") but not its failure type; the sandbox
// says INTERNAL_DECLINE, because it is PPRO that applies the payment
// method's timeout: Amazon Pay declined nothing.
func (s *Sim) pproTimeOut(ctx context.Context, tx *simkit.WriteTx, a *pproAgreement, at time.Time) error {
	failure := &pproFailure{
		FailureType:    failureInternalDecline,
		FailureCode:    codePaymentMethodTimeout,
		FailureMessage: "The consumer did not complete the authentication on Amazon Pay within its timeout of 1 hour.",
	}
	if err := s.pproSetAgreementStatus(ctx, tx, a, agreementFailed, failure, at); err != nil {
		return err
	}
	if a.InitialPaymentChargeID == "" {
		return nil
	}
	return s.pproDiscardPending(ctx, tx, a.InitialPaymentChargeID, failure, at)
}

// pproSetAgreementStatus moves an agreement to status (with a history
// entry) and sends the matching webhook.
func (s *Sim) pproSetAgreementStatus(ctx context.Context, tx *simkit.WriteTx, a *pproAgreement, status string, failure *pproFailure, at time.Time) error {
	if err := setPPROAgreementStatus(ctx, tx, a.ID, status, failure, at); err != nil {
		return err
	}
	a.Status, a.Failure = status, failure
	return s.pproEmitAgreement(ctx, tx, a, at)
}

// Decisions on the authentication page, as its buttons send them (the
// same names as on the Stripe part's Amazon Pay page).
func (s *Sim) pproDecide(ctx context.Context, tx *simkit.WriteTx, a *pproAgreement, decision string) error {
	now := s.host.Now()
	var failure *pproFailure
	switch decision {
	case simkit.DecisionApprove:
		if err := s.pproSetAgreementStatus(ctx, tx, a, agreementActive, nil, now); err != nil {
			return err
		}
		// The agreement is ACTIVE even when its first charge fails, as
		// PPRO documents: the merchant should charge it again.
		if a.InitialPaymentChargeID == "" {
			return nil
		}
		return s.pproSettlePending(ctx, tx, a.InitialPaymentChargeID, nil, now)
	case simkit.DecisionDecline:
		failure = &pproFailure{
			FailureType:    failureProviderDecline,
			FailureCode:    codeAuthenticationFailed,
			FailureMessage: "The buyer declined on Amazon Pay to allow payments by this merchant.",
		}
	case simkit.DecisionCancel:
		failure = &pproFailure{
			FailureType:    failureProviderDecline,
			FailureCode:    codeCanceledByConsumer,
			FailureMessage: "The buyer canceled on Amazon Pay and went back to the merchant without approving.",
		}
	default:
		return fmt.Errorf("unknown decision %q", decision)
	}
	if err := s.pproSetAgreementStatus(ctx, tx, a, agreementFailed, failure, now); err != nil {
		return err
	}
	if a.InitialPaymentChargeID == "" {
		return nil
	}
	// A declined or canceled initial charge FAILS with the agreement's
	// failure. It is not DISCARDED: PPRO's discard types are a timeout or
	// the merchant's own discard, and CANCELED_BY_CONSUMER is one of its
	// failure codes.
	return s.pproSettlePending(ctx, tx, a.InitialPaymentChargeID, failure, now)
}

// pproMagicDecline is the failure the sandbox gives a charge of amount
// (minor units), modelled on PPRO's MOCK processor, where the subunits 01
// and 02 decline: 01 with GENERIC_DECLINE ("Payment Authorization
// Failed"), 02 with INSUFFICIENT_FUNDS. PPRO publishes no test amounts for
// Amazon Pay; these are the sandbox's.
func pproMagicDecline(amount int64) *pproFailure {
	switch amount % 100 {
	case 1:
		return &pproFailure{FailureType: failureProviderDecline, FailureCode: codeGenericDecline,
			FailureMessage: "Payment Authorization Failed"}
	case 2:
		return &pproFailure{FailureType: failureProviderDecline, FailureCode: codeInsufficientFunds,
			FailureMessage: "The buyer's Amazon Pay account has insufficient funds for this payment."}
	}
	return nil
}

// pproSettlePending completes the pending authorization of an initial
// charge once the shopper has answered: on approval it is authorized (and
// captured as its autoCapture says, see pproAuthorized), or declined by
// the magic amounts; otherwise it fails with failure.
func (s *Sim) pproSettlePending(ctx context.Context, tx *simkit.WriteTx, chargeID string, failure *pproFailure, at time.Time) error {
	c, err := loadPPROCharge(ctx, tx, chargeID)
	if err != nil {
		return err
	}
	if c.Status != chargeAuthenticationPending || len(c.Authorizations) == 0 {
		return fmt.Errorf("charge %s is %s, not pending", c.ID, c.Status)
	}
	if failure == nil {
		failure = pproMagicDecline(c.amount)
	}
	return s.pproDecideAuthorization(ctx, tx, c, failure, at)
}

// pproDecideAuthorization ends c's latest, pending, authorization: it
// fails with failure, and the charge with it; or, when failure is nil, it
// is authorized (and captured as the charge's autoCapture says).
func (s *Sim) pproDecideAuthorization(ctx context.Context, tx *simkit.WriteTx, c *pproCharge, failure *pproFailure, at time.Time) error {
	authz := c.Authorizations[len(c.Authorizations)-1]
	if failure != nil {
		if err := setPPROOperationStatus(ctx, tx, authz.ID, authorizationFailed, failure, at); err != nil {
			return err
		}
		if err := setPPROChargeStatus(ctx, tx, c.ID, chargeFailed, failure, at); err != nil {
			return err
		}
		c.Status, c.Failure = chargeFailed, failure
		return s.pproEmitCharge(ctx, tx, eventChargeAuthorizationFailed, c, pproChargeEventData{AuthorizationID: authz.ID, Failure: failure}, at)
	}
	if err := setPPROOperationStatus(ctx, tx, authz.ID, authorizationAuthorized, nil, at); err != nil {
		return err
	}
	return s.pproAuthorized(ctx, tx, c, authz.ID, at)
}

// pproDiscardPending discards an initial charge whose authentication timed
// out (PPRO: "DISCARDED … discardType AUTHENTICATION_TIMEOUT"). Its pending
// authorization fails with the timeout, which is also the charge's latest
// failure.
func (s *Sim) pproDiscardPending(ctx context.Context, tx *simkit.WriteTx, chargeID string, failure *pproFailure, at time.Time) error {
	c, err := loadPPROCharge(ctx, tx, chargeID)
	if err != nil {
		return err
	}
	if c.Status != chargeAuthenticationPending {
		return nil
	}
	var authzID string
	if n := len(c.Authorizations); n > 0 {
		authzID = c.Authorizations[n-1].ID
		if err := setPPROOperationStatus(ctx, tx, authzID, authorizationFailed, failure, at); err != nil {
			return err
		}
	}
	discard := pproOperation{id: simkit.NewID("discard_", 21), kind: operationDiscard, status: discardDiscarded,
		discardType: discardTypeAuthenticationTimeout, created: at, updated: at}
	if err := insertPPROOperation(ctx, tx, c.ID, discard); err != nil {
		return err
	}
	if err := setPPROChargeStatus(ctx, tx, c.ID, chargeDiscarded, failure, at); err != nil {
		return err
	}
	c.Status = chargeDiscarded
	return s.pproEmitCharge(ctx, tx, eventChargeDiscarded, c,
		pproChargeEventData{AuthorizationID: authzID, DiscardType: discardTypeAuthenticationTimeout}, at)
}

// pproNewCharge builds a charge on agreement a from a request (the
// initialPaymentCharge, or an agreement charge). The consumer is the
// agreement's, with what ConsumerUpdate overrides.
func pproNewCharge(a *pproAgreement, in *pproChargeIn, amount pproMoney, initiator string) *pproCharge {
	c := &pproCharge{
		ID:                simkit.NewID("charge_", 21),
		PaymentMethod:     a.PaymentMethod,
		InstrumentID:      a.InstrumentID,
		Currency:          amount.Currency,
		Country:           a.Consumer.Country,
		PaymentDescriptor: simkit.Deref(in.PaymentDescriptor),
		Consumer:          a.Consumer,
		Labels:            in.Labels,
		merchantID:        a.merchantID,
		amount:            amount.Value,
		scheduleType:      simkit.Deref(in.ScheduleType),
		merchantRef:       simkit.Deref(in.MerchantPaymentChargeReference),
		webhooksURL:       simkit.Deref(in.WebhooksURL),
		paymentMedium:     a.paymentMedium,
		initiator:         initiator,
		agreementID:       a.ID,
		autoCapture:       in.AutoCapture == nil || *in.AutoCapture,
	}
	if in.Initiator != nil {
		c.initiator = *in.Initiator
	}
	if u := in.Consumer; u != nil {
		if u.TaxIdentification != nil {
			c.Consumer.TaxIdentification = *u.TaxIdentification
		}
		if u.Client != nil {
			c.Consumer.Client = u.Client
		}
	}
	return c
}

// insertPPROPendingCharge stores an agreement's initialPaymentCharge,
// which waits, like the agreement, for the shopper to authenticate.
func insertPPROPendingCharge(ctx context.Context, tx *simkit.WriteTx, c *pproCharge, now time.Time) error {
	c.Status = chargeAuthenticationPending
	if err := insertPPROCharge(ctx, tx, c, now); err != nil {
		return err
	}
	authz := pproOperation{id: simkit.NewID("authz_", 21), kind: operationAuthorization, status: authorizationAuthenticationPending,
		amount: c.amount, created: now, updated: now}
	return insertPPROOperation(ctx, tx, c.ID, authz)
}

// pproChargeAgreement charges agreement a. PPRO answers a charge it does
// not make with a FAILED charge, not an HTTP error: an agreement that is
// not ACTIVE gives INTERNAL_DECLINE with AGREEMENT_REVOKED (revoked) or
// AGREEMENT_INACTIVE (pending or failed). The sandbox records such a
// charge with one FAILED authorization, like any declined one. A charge
// on an ACTIVE agreement is authorized at once, unless a magic amount
// declines it, and captured as its autoCapture says (pproAuthorized). The
// initiator defaults to MERCHANT: the shopper is not there.
func (s *Sim) pproChargeAgreement(ctx context.Context, tx *simkit.WriteTx, a *pproAgreement, in *pproChargeIn, amount pproMoney) (*pproCharge, error) {
	now := s.host.Now()
	if a.AmountType == amountTypeExact && a.Amount != nil && a.Amount.Value != amount.Value {
		return nil, pproBadRequest("amount.value %d differs from payment agreement %s's EXACT amount %d: charge %s.",
			amount.Value, a.ID, a.Amount.Value, formatUSD(a.Amount.Value, a.Amount.Currency))
	}
	c := pproNewCharge(a, in, amount, initiatorMerchant)
	c.echoReference = s.Settings().EchoChargeReference
	switch a.Status {
	case agreementActive:
		c.Failure = pproMagicDecline(amount.Value)
		// The presenter made this agreement's payments decline.
		if magic, err := simkit.DeclineFor(ctx, tx, a.ID); err != nil {
			return nil, err
		} else if magic != 0 {
			c.Failure = pproMagicDecline(magic)
		}
	case agreementRevokedByConsumer, agreementRevokedByMerchant, agreementRevokedByProvider:
		c.Failure = &pproFailure{FailureType: failureInternalDecline, FailureCode: codeAgreementRevoked,
			FailureMessage: fmt.Sprintf("Payment Agreement %s is revoked (%s): it can no longer be charged.", a.ID, a.Status)}
	default:
		c.Failure = &pproFailure{FailureType: failureInternalDecline, FailureCode: codeAgreementInactive,
			FailureMessage: fmt.Sprintf("Payment Agreement not yet active or failed during setup: %s is %s.", a.ID, a.Status)}
	}
	// A charge starts AUTHORIZATION_PROCESSING (PPRO's initial charge
	// status); the answer shows where it is once the authorization is done.
	authz := pproOperation{id: simkit.NewID("authz_", 21), kind: operationAuthorization, status: authorizationAuthorized,
		amount: amount.Value, failure: c.Failure, created: now, updated: now}
	c.Status = chargeAuthorizationProcessing
	if c.Failure != nil {
		c.Status, authz.status = chargeFailed, authorizationFailed
	}
	if err := insertPPROCharge(ctx, tx, c, now); err != nil {
		return nil, err
	}
	if err := insertPPROOperation(ctx, tx, c.ID, authz); err != nil {
		return nil, err
	}
	var err error
	switch {
	case c.Failure != nil:
		err = s.pproEmitCharge(ctx, tx, eventChargeAuthorizationFailed, c,
			pproChargeEventData{AuthorizationID: authz.id, Failure: c.Failure}, now)
	case amount.Value%100 == magicNeedsShopper:
		err = s.pproPendChargeAuthorization(ctx, tx, c, authz.id, chargeAuthenticationPending,
			authorizationAuthenticationPending, eventChargeAuthenticationPending, now)
	case amount.Value%100 == magicAsync:
		err = s.pproPendChargeAuthorization(ctx, tx, c, authz.id, chargeAuthorizationAsync,
			authorizationProviderPending, eventChargeProviderPending, now)
	default:
		err = s.pproAuthorized(ctx, tx, c, authz.id, now)
	}
	if err != nil {
		return nil, err
	}
	return loadPPROCharge(ctx, tx, c.ID)
}

// pproPendChargeAuthorization leaves an agreement charge's authorization
// waiting, as the magic amounts say, until it settles a settle delay
// later (pproSettleCharge):
//   - 03 needs the shopper: the charge is AUTHENTICATION_PENDING (its
//     authorization too), PPRO's state for a charge waiting for the
//     consumer, with PAYMENT_CHARGE_AUTHENTICATION_PENDING. The shopper is
//     not there for a merchant-initiated charge, so it then FAILS as a
//     decline. It offers no authenticationMethods: the sandbox has no page
//     for it, and the field is optional.
//   - 07 is asynchronous: AUTHORIZATION_ASYNC, its authorization
//     PROVIDER_CONFIRMATION_PENDING, with
//     PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING (PPRO's mock processor's
//     providerConfirmation), then authorized and captured.
func (s *Sim) pproPendChargeAuthorization(ctx context.Context, tx *simkit.WriteTx, c *pproCharge, authzID, status, authzStatus, event string, now time.Time) error {
	if err := setPPROOperationStatus(ctx, tx, authzID, authzStatus, nil, now); err != nil {
		return err
	}
	if err := setPPROChargeStatus(ctx, tx, c.ID, status, nil, now); err != nil {
		return err
	}
	if err := setPPROChargeDue(ctx, tx, c.ID, "settle_due_ms", s.pproDue(now)); err != nil {
		return err
	}
	c.Status = status
	return s.pproEmitCharge(ctx, tx, event, c, pproChargeEventData{AuthorizationID: authzID}, now)
}

// pproRevoke revokes agreement a on the merchant's behalf. Only an ACTIVE
// agreement can be revoked. PPRO documents the FAILED answer's shape but
// not when it is given; the sandbox gives it for any other agreement, with
// the codes PPRO uses for charging such an agreement (INTERNAL_DECLINE with
// AGREEMENT_INACTIVE, or AGREEMENT_REVOKED for one already revoked), and
// records the attempt as a REVOCATION_FAILED entry of revocations, which
// the document calls "revocation attempts".
func (s *Sim) pproRevoke(ctx context.Context, tx *simkit.WriteTx, a *pproAgreement) (*pproRevocationAnswer, error) {
	now := s.host.Now()
	if a.Status == agreementActive {
		if err := s.pproRevokeAs(ctx, tx, a, agreementRevokedByMerchant, now); err != nil {
			return nil, err
		}
		if lag := s.Settings().RevocationLag; lag > 0 {
			if err := setRevocationShown(ctx, tx, a.ID, now.Add(lag)); err != nil {
				return nil, err
			}
		}
		return &pproRevocationAnswer{Status: revocationAnswerRevoked}, nil
	}
	failure := &pproFailure{FailureType: failureInternalDecline, FailureCode: codeAgreementInactive,
		FailureMessage: fmt.Sprintf("Only an ACTIVE payment agreement can be revoked; %s is %s.", a.ID, a.Status)}
	switch a.Status {
	case agreementRevokedByConsumer, agreementRevokedByMerchant, agreementRevokedByProvider:
		failure.FailureCode = codeAgreementRevoked
		failure.FailureMessage = fmt.Sprintf("Payment Agreement %s is already revoked (%s).", a.ID, a.Status)
	}
	if err := insertPPRORevocation(ctx, tx, a.ID, revocationFailedEntry, now); err != nil {
		return nil, err
	}
	return &pproRevocationAnswer{Status: revocationAnswerFailed, Failure: failure}, nil
}

// pproRevokeAs revokes the ACTIVE agreement a with status, one of the
// REVOKED_BY_* statuses, which is also the revocationStatus of the
// revocations[] entry it adds: the merchant through the API, the shopper
// in their Amazon account or Amazon Pay itself (the sandbox index page's
// buttons). The history gains the status and the matching
// PAYMENT_AGREEMENT_REVOKED_BY_* webhook goes out.
func (s *Sim) pproRevokeAs(ctx context.Context, tx *simkit.WriteTx, a *pproAgreement, status string, at time.Time) error {
	if a.Status != agreementActive {
		return fmt.Errorf("revoke %s: it is %s, not ACTIVE", a.ID, a.Status)
	}
	if err := insertPPRORevocation(ctx, tx, a.ID, status, at); err != nil {
		return err
	}
	return s.pproSetAgreementStatus(ctx, tx, a, status, nil, at)
}
