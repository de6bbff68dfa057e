package stripesim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"

	"example.com/storefront/sandbox/simkit"
)

// Mandates: the shopper's permission to charge a saved payment method
// later. Checkout makes one when a setup completes (for amazon_pay, and
// for card too, which is saved for off-session reuse), with the shopper's
// IP address and user agent from their answer on the hosted page. It stays
// active until the payment method is detached or the shopper revokes it
// in their Amazon account.

// shopperAcceptance is how a shopper accepted, as the hosted page saw it.
type shopperAcceptance struct {
	ipAddress string
	userAgent string
}

// acceptanceFrom reads the acceptance from the shopper's request. The
// address is the connection's: the sandbox does not trust forwarding
// headers that any client can set.
func acceptanceFrom(r *http.Request) shopperAcceptance {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return shopperAcceptance{ipAddress: ip, userAgent: r.UserAgent()}
}

// stripeNewMandate makes the active multi-use mandate of pm, accepted now.
func (s *Sim) stripeNewMandate(ctx context.Context, tx *simkit.WriteTx, pm *stripePaymentMethod, acc shopperAcceptance) (*stripeMandate, error) {
	now := s.host.Now().Unix()
	m := &stripeMandate{
		ID:              simkit.NewID("mandate_", 24),
		Status:          mandateActive,
		Type:            "multi_use",
		created:         now,
		paymentMethodID: pm.ID,
		pmType:          pm.Type,
		CustomerAcceptance: mandateCustomerAcceptance{
			Type:       "online",
			AcceptedAt: now,
			Online:     &mandateCustomerAcceptanceOnline{IPAddress: acc.ipAddress, UserAgent: acc.userAgent},
		},
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO stripe_mandates (id, created, status, type, payment_method_id, payment_method_type,
			accepted_at, ip_address, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.created, m.Status, m.Type, pm.ID, pm.Type, now, acc.ipAddress, acc.userAgent); err != nil {
		return nil, fmt.Errorf("insert mandate: %w", err)
	}
	return loadStripeMandate(ctx, tx, m.ID)
}

const mandateColumns = `id, created, status, type, payment_method_id, payment_method_type, accepted_at, ip_address, user_agent`

func scanStripeMandate(row interface{ Scan(...any) error }) (*stripeMandate, error) {
	m := &stripeMandate{Object: "mandate"}
	online := &mandateCustomerAcceptanceOnline{}
	err := row.Scan(&m.ID, &m.created, &m.Status, &m.Type, &m.paymentMethodID, &m.pmType,
		&m.CustomerAcceptance.AcceptedAt, &online.IPAddress, &online.UserAgent)
	if err != nil {
		return nil, err
	}
	m.CustomerAcceptance.Type = "online"
	m.CustomerAcceptance.Online = online
	m.PaymentMethod = m.paymentMethodID
	// Each type's own details are an empty hash for both types the sandbox
	// saves (stripe-go v76 knows the card one; amazon_pay's is newer).
	m.PaymentMethodDetails = map[string]any{"type": m.pmType, m.pmType: map[string]any{}}
	if m.Type == "multi_use" {
		m.MultiUse = &struct{}{}
	}
	return m, nil
}

func loadStripeMandate(ctx context.Context, q simkit.Querier, id string) (*stripeMandate, error) {
	m, err := scanStripeMandate(q.QueryRowContext(ctx, `SELECT `+mandateColumns+` FROM stripe_mandates WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load mandate %s: %w", id, err)
	}
	return m, nil
}

// loadMandateOfPaymentMethod returns pm's mandate, or nil when it has none
// (a payment method saved before the sandbox made mandates).
func loadMandateOfPaymentMethod(ctx context.Context, q simkit.Querier, pmID string) (*stripeMandate, error) {
	m, err := scanStripeMandate(q.QueryRowContext(ctx, `SELECT `+mandateColumns+` FROM stripe_mandates WHERE payment_method_id = ?`, pmID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load mandate of %s: %w", pmID, err)
	}
	return m, nil
}

// stripeDeactivateMandate makes m inactive and sends mandate.updated, with
// the status it had. An inactive mandate stays as it is.
func (s *Sim) stripeDeactivateMandate(ctx context.Context, tx *simkit.WriteTx, m *stripeMandate, req *stripeRequest) error {
	if m == nil || m.Status == mandateInactive {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stripe_mandates SET status = ? WHERE id = ?`, mandateInactive, m.ID); err != nil {
		return fmt.Errorf("deactivate mandate %s: %w", m.ID, err)
	}
	previous := m.Status
	updated, err := loadStripeMandate(ctx, tx, m.ID)
	if err != nil {
		return err
	}
	return s.stripeEmitChange(ctx, tx, eventMandateUpdated, updated, map[string]any{"status": previous}, req)
}

func (s *Sim) stripeGetMandate(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "mandate", "mandate", "mandate", loadStripeMandate)
}
