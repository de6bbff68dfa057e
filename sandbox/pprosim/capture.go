package pprosim

import (
	"context"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// Captures. Amazon Pay through PPRO has no separate captures (PPRO's newer
// Amazon Pay page), so the sandbox offers no capture endpoint: every
// authorized charge is captured by the sandbox itself, either at once or,
// when the charge was requested with autoCapture false, a little later.
//
// autoCapture false is where PPRO's documents are silent for Amazon Pay
// (ppro-api.md §11.7: rejected or ignored is unknown). The sandbox takes
// the plainest reading of the field ("automatically captured after a
// successful authorization") and of the charge lifecycle: without it an
// authorized charge is CAPTURE_PENDING, the state PPRO uses for
// "authorized, awaiting capture" (an AUTHORIZED authorization and no
// capture, with PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED), and since nobody
// can capture it separately it moves to CAPTURED by itself
// amazonPayCaptureDelay later (PPRO: "Not all payment methods support
// captures and will automatically transition…").

// pproAuthorized moves on a charge whose authorization authzID succeeded
// at at: captured at once with autoCapture (true or absent), otherwise
// CAPTURE_PENDING until its capture is due.
func (s *Sim) pproAuthorized(ctx context.Context, tx *simkit.WriteTx, c *pproCharge, authzID string, at time.Time) error {
	if c.autoCapture {
		return s.pproCapture(ctx, tx, c, at)
	}
	due := at.Add(amazonPayCaptureDelay)
	if err := setPPROChargeCapturePending(ctx, tx, c.ID, due, at); err != nil {
		return err
	}
	c.Status, c.captureDue = chargeCapturePending, due
	// isMultiStep is left out: Amazon Pay needs no second step from the
	// merchant, yet the capture does come later.
	return s.pproEmitCharge(ctx, tx, eventChargeAuthorizationSucceeded, c, pproChargeEventData{AuthorizationID: authzID}, at)
}

// pproCaptureIfDue captures a CAPTURE_PENDING charge whose capture is due,
// as of the moment it was due, and returns the charge as it is now. Like
// the agreement timeout, PPRO would do it in the background; the sandbox
// does it when someone looks, which nobody can tell apart.
func (s *Sim) pproCaptureIfDue(ctx context.Context, tx *simkit.WriteTx, c *pproCharge) (*pproCharge, error) {
	if c.Status != chargeCapturePending || c.captureDue.IsZero() || s.host.Now().Before(c.captureDue) {
		return c, nil
	}
	if err := s.pproCapture(ctx, tx, c, c.captureDue); err != nil {
		return nil, err
	}
	return loadPPROCharge(ctx, tx, c.ID)
}

// pproCapture captures the whole authorized amount of c at at.
func (s *Sim) pproCapture(ctx context.Context, tx *simkit.WriteTx, c *pproCharge, at time.Time) error {
	capture := pproOperation{id: simkit.NewID("capture_", 21), kind: operationCapture, status: captureCaptured,
		amount: c.amount, created: at, updated: at}
	if err := insertPPROOperation(ctx, tx, c.ID, capture); err != nil {
		return err
	}
	if err := setPPROChargeStatus(ctx, tx, c.ID, chargeCaptured, nil, at); err != nil {
		return err
	}
	c.Status, c.captureDue = chargeCaptured, time.Time{}
	if c.amount%100 == magicChargeback {
		if err := setPPROChargeDue(ctx, tx, c.ID, "chargeback_due_ms", s.pproDue(at)); err != nil {
			return err
		}
	}
	return s.pproEmitCharge(ctx, tx, eventChargeCaptureSucceeded, c, pproChargeEventData{CaptureID: capture.id}, at)
}
