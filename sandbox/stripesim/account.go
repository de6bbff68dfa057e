package stripesim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// GET /v1/account: the sandbox's own account, as the merchant's Dashboard
// shows it. Its id and created time are made on first use and kept, so
// that they stay the same across restarts.

func (s *Sim) stripeGetAccount(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	if _, e := parseExpand("account", req.params); e != nil {
		return nil, e
	}
	id, created, err := s.stripeAccountRow(ctx, tx)
	if err != nil {
		return nil, err
	}
	merchant := s.host.MerchantName()
	a := &stripeAccount{
		ID:              id,
		Object:          "account",
		BusinessProfile: accountBusiness{Name: merchant},
		Capabilities: map[string]string{
			"amazon_pay_payments": "active",
			"card_payments":       "active",
			"transfers":           "active",
		},
		ChargesEnabled:     true,
		Controller:         accountController{Type: "account"},
		Country:            s.cfg.AccountCountry,
		Created:            created,
		DefaultCurrency:    accountCurrency(s.cfg.AccountCountry),
		DetailsSubmitted:   true,
		ExternalAccounts:   newStripeList("/v1/accounts/"+id+"/external_accounts", nil, false),
		FutureRequirements: emptyRequirements(),
		Metadata:           map[string]string{},
		PayoutsEnabled:     true,
		Requirements:       emptyRequirements(),
		Type:               "standard",
	}
	a.Settings.Dashboard.DisplayName = merchant
	a.Settings.Dashboard.Timezone = "Etc/UTC"
	a.Settings.Payments.StatementDescriptor = statementDescriptor(merchant)
	return a, nil
}

// stripeAccountRow loads the account's id and created time, making them
// on first use.
func (s *Sim) stripeAccountRow(ctx context.Context, tx *simkit.WriteTx) (id string, created int64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT id, created FROM stripe_accounts WHERE scope = ?`, s.scope).Scan(&id, &created)
	if errors.Is(err, sql.ErrNoRows) {
		// Stripe's account ids are "acct_1" and 15 alphanumerics.
		id, created = simkit.NewID("acct_1", 15), s.host.Now().Unix()
		_, err = tx.ExecContext(ctx, `INSERT INTO stripe_accounts (scope, id, created) VALUES (?, ?, ?)`, s.scope, id, created)
	}
	if err != nil {
		return "", 0, fmt.Errorf("account: %w", err)
	}
	return id, created, nil
}

func emptyRequirements() accountRequirements {
	return accountRequirements{
		Alternatives: []any{}, CurrentlyDue: []any{}, Errors: []any{},
		EventuallyDue: []any{}, PastDue: []any{}, PendingVerification: []any{},
	}
}

// statementDescriptor is the account's default statement descriptor made
// from the merchant's name, as Stripe suggests one: upper case, Latin
// letters, digits and spaces, at most 22 characters.
func statementDescriptor(merchant string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(merchant) {
		if b.Len() == 22 {
			break
		}
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '.' || r == '-' {
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) < 5 { // Stripe's minimum length
		out = "SANDBOX"
	}
	return out
}
