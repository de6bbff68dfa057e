package store

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// The merchant's search box takes one of:
//
//   - an id: ours (md_…) or any a provider gave us, exactly as shown
//     (Stripe cus_, cs_, seti_, pm_, mandate_, pi_, ch_, re_, du_…; PPRO
//     agr_, charge_, its refunds' and disputes' ids). A payment's, refund's
//     or dispute's id finds its mandate.
//   - the beginning of an email address ("ada@", "ada@exa", "ada").
//   - the beginning of a name, whatever its case ("ada love").
//
// A word with no "@" and no space is tried as an id first, then as the
// beginning of an email or a name; a word with "@" is an email's beginning
// only, and words with spaces a name's.
//
// searchTerm is what the box's text asks the list for.
type searchTerm struct {
	ids   []string // the mandates an id named
	email string   // a prefix of the email (stored lower-case)
	name  string   // a prefix of lower(name)
}

func (t searchTerm) empty() bool { return t.ids == nil && t.email == "" && t.name == "" }

// resolveSearch reads q (the box's text) into a term, looking an id up.
func (s *Store) resolveSearch(ctx context.Context, q string) (searchTerm, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return searchTerm{}, nil
	}
	spaced := strings.IndexFunc(q, unicode.IsSpace) >= 0
	if !spaced && !strings.Contains(q, "@") {
		ids, err := s.mandatesNamedBy(ctx, q)
		if err != nil {
			return searchTerm{}, err
		}
		if len(ids) > 0 {
			return searchTerm{ids: ids}, nil
		}
	}
	return prefixTerm(q), nil
}

// prefixTerm is q as the beginning of an email or a name (see above).
func prefixTerm(q string) searchTerm {
	switch {
	case strings.Contains(q, "@"):
		return searchTerm{email: strings.ToLower(q)}
	case strings.IndexFunc(q, unicode.IsSpace) >= 0:
		return searchTerm{name: asciiLower(strings.Join(strings.Fields(q), " "))}
	default:
		return searchTerm{email: strings.ToLower(q), name: asciiLower(q)}
	}
}

// asciiLower folds A–Z only, as the databases' lower() does on text that
// is COLLATE "C" (PostgreSQL) or by default (SQLite): the typed prefix and
// the index then agree on every name, "Émile" included.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// searchIDs looks a word up in every column that keeps an id: ours, and
// each the providers gave us for a mandate, its customer, setup, payment
// method, payments, their operations, refunds and disputes. Each arm is an
// exact match on an index (migration 0020).
const searchIDs = `SELECT id FROM mandates WHERE id = ?
	UNION SELECT id FROM mandates WHERE provider_ref = ?
	UNION SELECT id FROM mandates WHERE provider_customer_ref = ?
	UNION SELECT id FROM mandates WHERE setup_intent_ref = ?
	UNION SELECT id FROM mandates WHERE payment_method_id = ?
	UNION SELECT id FROM mandates WHERE provider_mandate_ref = ?
	UNION SELECT mandate_id FROM charges WHERE provider_ref = ?
	UNION SELECT ch.mandate_id FROM charge_operations o JOIN charges ch ON ch.id = o.charge_id WHERE o.provider_ref = ?
	UNION SELECT ch.mandate_id FROM refunds r JOIN charges ch ON ch.id = r.charge_id WHERE r.provider_ref = ?
	UNION SELECT mandate_id FROM disputes WHERE provider_ref = ?
	LIMIT 201`

// mandatesNamedBy is the mandates an id names (none when it names none).
func (s *Store) mandatesNamedBy(ctx context.Context, word string) ([]string, error) {
	args := make([]any, strings.Count(searchIDs, "?"))
	for i := range args {
		args[i] = word
	}
	rows, err := s.db.QueryContext(ctx, searchIDs, args...)
	if err != nil {
		return nil, fmt.Errorf("search for %q: %w", word, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("search for %q: %w", word, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search for %q: %w", word, err)
	}
	return ids, nil
}

// searchFrom is the list's FROM and WHERE for a search: the matches are
// found first, in the index the term names (ids, or customers' email or
// lower(name) by range), and then sorted into the list's order. What that
// reads grows with the matches, never with the table; a search is for a
// few. Billing and dispute filters are checked per match.
func (d dialect) searchFrom(t searchTerm) (from string, where []string, args []any) {
	if t.ids != nil {
		from = `mandates m JOIN customers c ON c.id = m.customer_id LEFT JOIN billing b ON b.mandate_id = m.id`
		if len(t.ids) == 0 {
			return from, []string{"1 = 0"}, nil
		}
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(t.ids)), ", ")
		for _, id := range t.ids {
			args = append(args, id)
		}
		return from, []string{"m.id IN (" + ph + ")"}, args
	}
	// The customers are the outer loop, found by their index; each one's
	// mandates by mandates_customer.
	from = `customers c ` + d.orderedJoin + ` mandates m ON m.customer_id = c.id LEFT JOIN billing b ON b.mandate_id = m.id`
	var or []string
	if t.email != "" {
		or, args = append(or, "(c.email >= ? AND c.email < ?)"), append(args, t.email, t.email+"\U0010FFFF")
	}
	if t.name != "" {
		or, args = append(or, "(lower(c.name) >= ? AND lower(c.name) < ?)"), append(args, t.name, t.name+"\U0010FFFF")
	}
	return from, []string{"(" + strings.Join(or, " OR ") + ")"}, args
}
