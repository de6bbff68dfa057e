package stripesim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"example.com/storefront/sandbox/simkit"
)

// Loading and saving the Stripe objects. Loaders return
// simkit.ErrNotFound for unknown ids and leave expandable fields as ids.

func insertStripeCustomer(ctx context.Context, q simkit.Querier, c *stripeCustomer) error {
	addr, err := simkit.NullJSON(c.Address)
	if err != nil {
		return err
	}
	md, err := simkit.JSONText(c.Metadata)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO stripe_customers (id, created, email, name, description, phone, address, invoice_prefix, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Created, simkit.NullString(c.Email), simkit.NullString(c.Name), simkit.NullString(c.Description),
		simkit.NullString(c.Phone), addr, c.InvoicePrefix, md); err != nil {
		return fmt.Errorf("insert customer: %w", err)
	}
	return nil
}

func loadStripeCustomer(ctx context.Context, q simkit.Querier, id string) (*stripeCustomer, error) {
	var cu customerRow
	err := q.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM stripe_customers cu WHERE cu.id = ?`, id).Scan(cu.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load customer %s: %w", id, err)
	}
	return cu.customer()
}

// customerColumns are a customer's columns, of stripe_customers as cu: a
// query of another object that names its Customer can read it in the same
// statement (LEFT JOIN stripe_customers cu).
const customerColumns = `cu.id, cu.created, cu.email, cu.name, cu.description, cu.phone, cu.address, cu.invoice_prefix,
	cu.metadata`

// customerRow holds customerColumns as scanned: all null when the object
// names no Customer.
type customerRow struct {
	id, email, name, desc, phone, addr, prefix, md sql.NullString
	created                                        sql.NullInt64
}

func (r *customerRow) dest() []any {
	return []any{&r.id, &r.created, &r.email, &r.name, &r.desc, &r.phone, &r.addr, &r.prefix, &r.md}
}

// customer is the Customer scanned, or nil if there was none.
func (r *customerRow) customer() (*stripeCustomer, error) {
	if !r.id.Valid {
		return nil, nil
	}
	c := newStripeCustomer()
	c.ID, c.Created, c.InvoicePrefix = r.id.String, r.created.Int64, r.prefix.String
	c.Email, c.Name, c.Description, c.Phone = simkit.StringPtr(r.email), simkit.StringPtr(r.name), simkit.StringPtr(r.desc), simkit.StringPtr(r.phone)
	var err error
	if c.Address, err = simkit.ScanJSON[stripeAddress](r.addr); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(r.md.String), &c.Metadata); err != nil {
		return nil, fmt.Errorf("load customer %s metadata: %w", c.ID, err)
	}
	return c, nil
}

func insertStripePaymentMethod(ctx context.Context, q simkit.Querier, pm *stripePaymentMethod) error {
	bd, err := simkit.JSONText(pm.BillingDetails)
	if err != nil {
		return err
	}
	card, err := simkit.NullJSON(pm.Card)
	if err != nil {
		return err
	}
	md, err := simkit.JSONText(pm.Metadata)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO stripe_payment_methods (id, created, type, customer_id, billing_details, card, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		pm.ID, pm.Created, pm.Type, simkit.NullString(pm.customerID), bd, card, md); err != nil {
		return fmt.Errorf("insert payment method: %w", err)
	}
	return nil
}

func loadStripePaymentMethod(ctx context.Context, q simkit.Querier, id string) (*stripePaymentMethod, error) {
	pm := &stripePaymentMethod{Object: "payment_method"}
	var customer, card sql.NullString
	var bd, md string
	err := q.QueryRowContext(ctx, `
		SELECT id, created, type, customer_id, billing_details, card, metadata
		FROM stripe_payment_methods WHERE id = ?`, id).
		Scan(&pm.ID, &pm.Created, &pm.Type, &customer, &bd, &card, &md)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load payment method %s: %w", id, err)
	}
	pm.customerID = simkit.StringPtr(customer)
	pm.Customer = idOrNil(pm.customerID)
	if err := json.Unmarshal([]byte(bd), &pm.BillingDetails); err != nil {
		return nil, fmt.Errorf("load payment method %s billing details: %w", id, err)
	}
	if err := json.Unmarshal([]byte(md), &pm.Metadata); err != nil {
		return nil, fmt.Errorf("load payment method %s metadata: %w", id, err)
	}
	if pm.Card, err = simkit.ScanJSON[stripeCard](card); err != nil {
		return nil, err
	}
	if pm.Type == pmTypeAmazonPay {
		pm.AmazonPay = &struct{}{}
	}
	return pm, nil
}

func insertStripeSetupIntent(ctx context.Context, q simkit.Querier, si *stripeSetupIntent) error {
	types, err := simkit.JSONText(si.PaymentMethodTypes)
	if err != nil {
		return err
	}
	md, err := simkit.JSONText(si.Metadata)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO stripe_setup_intents (id, created, client_secret, customer_id, description, status, usage,
			payment_method_types, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		si.ID, si.Created, si.ClientSecret, simkit.NullString(si.customerID), simkit.NullString(si.Description),
		si.Status, si.Usage, types, md); err != nil {
		return fmt.Errorf("insert setup intent: %w", err)
	}
	return updateStripeSetupIntent(ctx, q, si)
}

// updateStripeSetupIntent saves the fields the flows change.
func updateStripeSetupIntent(ctx context.Context, q simkit.Querier, si *stripeSetupIntent) error {
	lastErr, err := simkit.NullJSON(si.LastSetupError)
	if err != nil {
		return err
	}
	next, err := simkit.NullJSON(si.NextAction)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		UPDATE stripe_setup_intents
		SET status = ?, payment_method_id = ?, mandate_id = ?, last_setup_error = ?, next_action = ?
		WHERE id = ?`,
		si.Status, simkit.NullString(si.paymentMethodID), simkit.NullString(si.mandateID), lastErr, next, si.ID); err != nil {
		return fmt.Errorf("update setup intent %s: %w", si.ID, err)
	}
	return nil
}

func loadStripeSetupIntent(ctx context.Context, q simkit.Querier, id string) (*stripeSetupIntent, error) {
	var r setupIntentRow
	err := q.QueryRowContext(ctx, `SELECT `+setupIntentColumns+` FROM stripe_setup_intents si WHERE si.id = ?`, id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load setup intent %s: %w", id, err)
	}
	return r.intent()
}

// setupIntentColumns are a SetupIntent's columns, of stripe_setup_intents
// as si, for loadStripeSetupIntent and the flow's pages (loadFlowSession).
const setupIntentColumns = `si.id, si.created, si.client_secret, si.customer_id, si.description, si.status, si.usage,
	si.payment_method_types, si.payment_method_id, si.mandate_id, si.last_setup_error, si.next_action, si.metadata`

// setupIntentRow holds setupIntentColumns as scanned.
type setupIntentRow struct {
	si                                   stripeSetupIntent
	customer, desc, pm, mandate, lastErr sql.NullString
	next                                 sql.NullString
	types, md                            string
}

func (r *setupIntentRow) dest() []any {
	return []any{&r.si.ID, &r.si.Created, &r.si.ClientSecret, &r.customer, &r.desc, &r.si.Status, &r.si.Usage, &r.types,
		&r.pm, &r.mandate, &r.lastErr, &r.next, &r.md}
}

func (r *setupIntentRow) intent() (*stripeSetupIntent, error) {
	si := &r.si
	si.Object = "setup_intent"
	si.customerID, si.paymentMethodID, si.Description = simkit.StringPtr(r.customer), simkit.StringPtr(r.pm), simkit.StringPtr(r.desc)
	si.mandateID = simkit.StringPtr(r.mandate)
	si.Customer, si.PaymentMethod, si.Mandate = idOrNil(si.customerID), idOrNil(si.paymentMethodID), idOrNil(si.mandateID)
	if err := json.Unmarshal([]byte(r.types), &si.PaymentMethodTypes); err != nil {
		return nil, fmt.Errorf("load setup intent %s types: %w", si.ID, err)
	}
	if err := json.Unmarshal([]byte(r.md), &si.Metadata); err != nil {
		return nil, fmt.Errorf("load setup intent %s metadata: %w", si.ID, err)
	}
	var err error
	if si.LastSetupError, err = simkit.ScanJSON[stripeError](r.lastErr); err != nil {
		return nil, err
	}
	if si.NextAction, err = simkit.ScanJSON[stripeNextAction](r.next); err != nil {
		return nil, err
	}
	si.PaymentMethodOptions = setupIntentPaymentMethodOptions(si.PaymentMethodTypes)
	return si, nil
}

// setupIntentPaymentMethodOptions is what Stripe reports for the types a
// SetupIntent accepts; only card has options in 2023-10-16.
func setupIntentPaymentMethodOptions(types []string) map[string]any {
	opts := map[string]any{}
	for _, t := range types {
		if t == pmTypeCard {
			opts[pmTypeCard] = map[string]any{
				"mandate_options":        nil,
				"network":                nil,
				"request_three_d_secure": "automatic",
			}
		}
	}
	return opts
}

func insertStripeCheckoutSession(ctx context.Context, q simkit.Querier, cs *stripeCheckoutSession) error {
	types, err := simkit.JSONText(cs.PaymentMethodTypes)
	if err != nil {
		return err
	}
	md, err := simkit.JSONText(cs.Metadata)
	if err != nil {
		return err
	}
	var message sql.NullString
	if cs.CustomText.Submit != nil {
		message = sql.NullString{String: cs.CustomText.Submit.Message, Valid: true}
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO stripe_checkout_sessions (id, created, expires_at, status, mode, customer_id, customer_email,
			client_reference_id, currency, locale, success_url, cancel_url, payment_method_types,
			setup_intent_id, submit_message, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		cs.ID, cs.Created, cs.ExpiresAt, cs.Status, cs.Mode, simkit.NullString(cs.customerID), simkit.NullString(cs.CustomerEmail),
		simkit.NullString(cs.ClientReferenceID), simkit.NullString(cs.Currency), simkit.NullString(cs.Locale), cs.SuccessURL,
		simkit.NullString(cs.CancelURL), types, cs.setupIntentID, message, md); err != nil {
		return fmt.Errorf("insert checkout session: %w", err)
	}
	return nil
}

func updateStripeCheckoutSessionStatus(ctx context.Context, q simkit.Querier, id, status string) error {
	if _, err := q.ExecContext(ctx, `UPDATE stripe_checkout_sessions SET status = ? WHERE id = ?`, status, id); err != nil {
		return fmt.Errorf("update checkout session %s: %w", id, err)
	}
	return nil
}

// loadStripeCheckoutSession loads a session as stored; Sim.stripeSession
// adds what depends on configuration and time (url, lazy expiry).
func loadStripeCheckoutSession(ctx context.Context, q simkit.Querier, id string) (*stripeCheckoutSession, error) {
	cs, _, err := querySession(ctx, q, "s.id = ?", id, false)
	if err != nil {
		return nil, fmt.Errorf("load checkout session %s: %w", id, err)
	}
	return cs, nil
}

// loadFlowSession loads, in one statement, the session that where (of
// stripe_checkout_sessions as s, with one argument) finds and its
// SetupIntent: what each of the flow's pages reads.
func loadFlowSession(ctx context.Context, q simkit.Querier, where string, arg any) (*stripeCheckoutSession, *stripeSetupIntent, error) {
	cs, si, err := querySession(ctx, q, where, arg, true)
	if err != nil {
		return nil, nil, fmt.Errorf("load checkout session (%s %v): %w", where, arg, err)
	}
	return cs, si, nil
}

// querySession reads the session where finds, with its Customer and, with
// withIntent, its SetupIntent; simkit.ErrNotFound if there is none.
func querySession(ctx context.Context, q simkit.Querier, where string, arg any, withIntent bool) (*stripeCheckoutSession, *stripeSetupIntent, error) {
	cs := &stripeCheckoutSession{
		Object:                  "checkout.session",
		CustomFields:            []any{},
		PaymentMethodCollection: "always",
		PaymentMethodOptions:    map[string]any{},
		PaymentStatus:           "no_payment_required",
		ShippingOptions:         []any{},
		UIMode:                  "hosted",
	}
	var customer, email, ref, currency, locale, cancel, message sql.NullString
	var types, md string
	var cu customerRow
	var si setupIntentRow
	query, dest := sessionQuery, append([]any{&cs.ID, &cs.Created, &cs.ExpiresAt, &cs.Status, &cs.Mode, &customer,
		&email, &ref, &currency, &locale, &cs.SuccessURL, &cancel, &types, &cs.setupIntentID, &message, &md}, cu.dest()...)
	if withIntent {
		query, dest = flowQuery, append(dest, si.dest()...)
	}
	err := q.QueryRowContext(ctx, query+where, arg).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	cs.customerID = simkit.StringPtr(customer)
	cs.Customer = idOrNil(cs.customerID)
	if cs.customer, err = cu.customer(); err != nil {
		return nil, nil, err
	}
	cs.SetupIntent = cs.setupIntentID
	cs.CustomerEmail, cs.ClientReferenceID = simkit.StringPtr(email), simkit.StringPtr(ref)
	cs.Currency, cs.Locale, cs.CancelURL = simkit.StringPtr(currency), simkit.StringPtr(locale), simkit.StringPtr(cancel)
	if message.Valid {
		cs.CustomText.Submit = &stripeTextMessage{Message: message.String}
	}
	if err := json.Unmarshal([]byte(types), &cs.PaymentMethodTypes); err != nil {
		return nil, nil, fmt.Errorf("types: %w", err)
	}
	if err := json.Unmarshal([]byte(md), &cs.Metadata); err != nil {
		return nil, nil, fmt.Errorf("metadata: %w", err)
	}
	if cs.Status == sessionComplete {
		cs.CustomerDetails = checkoutCustomerDetails(cs)
	}
	if !withIntent {
		return cs, nil, nil
	}
	intent, err := si.intent()
	if err != nil {
		return nil, nil, err
	}
	return cs, intent, nil
}

// The session's columns and its Customer's, and for the flow's pages its
// SetupIntent's, up to the WHERE clause querySession adds.
const (
	sessionColumns = `s.id, s.created, s.expires_at, s.status, s.mode, s.customer_id, s.customer_email,
		s.client_reference_id, s.currency, s.locale, s.success_url, s.cancel_url, s.payment_method_types,
		s.setup_intent_id, s.submit_message, s.metadata, ` + customerColumns
	sessionQuery = `SELECT ` + sessionColumns + `
		FROM stripe_checkout_sessions s LEFT JOIN stripe_customers cu ON cu.id = s.customer_id WHERE `
	flowQuery = `SELECT ` + sessionColumns + `, ` + setupIntentColumns + `
		FROM stripe_checkout_sessions s LEFT JOIN stripe_customers cu ON cu.id = s.customer_id
		JOIN stripe_setup_intents si ON si.id = s.setup_intent_id WHERE `
)

// checkoutCustomerDetails is what a completed session reports about the
// customer: the sandbox collects nothing on its pages, so it is the
// Customer's own details (or the customer_email the session was given).
func checkoutCustomerDetails(cs *stripeCheckoutSession) *stripeCustomerDetails {
	d := &stripeCustomerDetails{Email: cs.CustomerEmail, TaxExempt: "none", TaxIDs: []any{}}
	if c := cs.customer; c != nil {
		d.Address, d.Email, d.Name, d.Phone = c.Address, c.Email, c.Name, c.Phone
	}
	return d
}

// idOrNil is the unexpanded value of an expandable field: the id, or null.
func idOrNil(id *string) any {
	if id == nil {
		return nil
	}
	return *id
}
