package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// PaymentRow is one payment (charge) for the payments export, with the
// mandate it belongs to as the list shows it.
type PaymentRow struct {
	Mandate MandateSummary
	Charge  Charge
}

// RefundRow is one refund for the refunds export, with its payment and
// mandate.
type RefundRow struct {
	Mandate MandateSummary
	Charge  Charge
	Refund  Refund
}

// exportPage is how many mandates an export reads per step: a page of the
// list (its most), whose payments or refunds are one more short query.
const exportPage = 200

// eachListed calls fn with each page of the mandates the list shows for f
// (newest first, all pages), f's Limit and After aside. Each page's
// queries are closed before fn runs, so a slow fn (a client that stops
// reading an export) holds no database connection or transaction, as
// EachConsent. Rows written meanwhile may or may not be included: an
// export is not one snapshot.
func (s *Store) eachListed(ctx context.Context, f ListFilter, fn func([]MandateSummary) error) error {
	f.Limit, f.After = exportPage, ""
	for {
		page, next, err := s.ListMandates(ctx, f)
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		f.After = next
	}
}

// inList is "(?, ?, …)" and the ids of page, for a query by mandate.
func inList(page []MandateSummary) (string, []any) {
	args := make([]any, len(page))
	for i, m := range page {
		args[i] = m.ID
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(page)), ", ") + ")", args
}

// EachPayment calls fn with every payment of the mandates the list shows
// for f (its filters, not its page): mandates newest first, each one's
// payments oldest first. It stops at fn's first error.
func (s *Store) EachPayment(ctx context.Context, f ListFilter, fn func(PaymentRow) error) error {
	return s.eachListed(ctx, f, func(page []MandateSummary) error {
		charges, err := s.chargesOf(ctx, page)
		if err != nil {
			return err
		}
		for _, m := range page {
			for _, c := range charges[m.ID] {
				if err := fn(PaymentRow{Mandate: m, Charge: c}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// chargesOf is the payments of page's mandates, each's oldest first, read
// in one query through charges_mandate.
func (s *Store) chargesOf(ctx context.Context, page []MandateSummary) (map[string][]Charge, error) {
	in, args := inList(page)
	rows, err := s.db.QueryContext(ctx, `SELECT `+chargeColumns("c")+` FROM charges c WHERE c.mandate_id IN `+in+
		` ORDER BY c.mandate_id, c.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("export payments: %w", err)
	}
	defer rows.Close()
	out := map[string][]Charge{}
	for rows.Next() {
		var n nullCharge
		if err := rows.Scan(n.dest()...); err != nil {
			return nil, fmt.Errorf("export payments: %w", err)
		}
		c := n.charge()
		out[c.MandateID] = append(out[c.MandateID], *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export payments: %w", err)
	}
	return out, nil
}

// EachRefund calls fn with every refund of the mandates the list shows for
// f: mandates newest first, each one's refunds in the order they were
// asked for. It stops at fn's first error.
func (s *Store) EachRefund(ctx context.Context, f ListFilter, fn func(RefundRow) error) error {
	return s.eachListed(ctx, f, func(page []MandateSummary) error {
		refunds, err := s.refundsOf(ctx, page)
		if err != nil {
			return err
		}
		for _, m := range page {
			for _, r := range refunds[m.ID] {
				r.Mandate = m
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// refundsOf is the refunds of page's mandates with their payments, read
// in one query (charges_mandate, then refunds_charge).
func (s *Store) refundsOf(ctx context.Context, page []MandateSummary) (map[string][]RefundRow, error) {
	in, args := inList(page)
	rows, err := s.db.QueryContext(ctx, `SELECT `+refundColumns+`, `+chargeColumns("c")+`
		FROM charges c JOIN refunds r ON r.charge_id = c.id WHERE c.mandate_id IN `+in+` ORDER BY c.mandate_id, r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("export refunds: %w", err)
	}
	defer rows.Close()
	out := map[string][]RefundRow{}
	for rows.Next() {
		var n nullCharge
		rf, err := scanRefund(andCharge{rows, &n})
		if err != nil {
			return nil, fmt.Errorf("export refunds: %w", err)
		}
		c := n.charge()
		out[c.MandateID] = append(out[c.MandateID], RefundRow{Charge: *c, Refund: rf})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export refunds: %w", err)
	}
	return out, nil
}

// andCharge scans a refund's columns (scanRefund's) and then a charge's.
type andCharge struct {
	rows *sql.Rows
	c    *nullCharge
}

func (a andCharge) Scan(dest ...any) error { return a.rows.Scan(append(dest, a.c.dest()...)...) }

// EachListedConsent calls fn with the consent evidence of the mandates the
// list shows for f, newest first (EachConsent is all of them, oldest
// first). It stops at fn's first error.
func (s *Store) EachListedConsent(ctx context.Context, f ListFilter, fn func(ConsentRow) error) error {
	return s.eachListed(ctx, f, func(page []MandateSummary) error {
		consents, err := s.consentsOf(ctx, page)
		if err != nil {
			return err
		}
		for _, m := range page {
			if c, ok := consents[m.ID]; ok {
				if err := fn(c); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *Store) consentsOf(ctx context.Context, page []MandateSummary) (map[string]ConsentRow, error) {
	in, args := inList(page)
	rows, err := s.db.QueryContext(ctx, consentSelect+` WHERE m.id IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("export consents: %w", err)
	}
	defer rows.Close()
	out := map[string]ConsentRow{}
	for rows.Next() {
		r, _, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("export consents: %w", err)
		}
		out[r.MandateID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export consents: %w", err)
	}
	return out, nil
}
