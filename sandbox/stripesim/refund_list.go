package stripesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// GET /v1/refunds: a list object, newest first, paged with limit,
// starting_after and ending_before, filtered by charge or payment_intent
// (Stripe's List all refunds). The app uses it to find a refund by its
// metadata when the answer to the create was lost and the idempotency key
// may be forgotten.

var refundListSpec = specHash(map[string]paramSpec{
	"charge":         specString,
	"created":        specRange,
	"ending_before":  specString,
	"expand":         specList,
	"limit":          specString,
	"payment_intent": specString,
	"starting_after": specString,
})

func (s *Sim) stripeListRefunds(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	p := req.params
	page, e := parseListPage(p)
	if e != nil {
		return nil, e
	}
	exp, e := parseListExpand("refund", p)
	if e != nil {
		return nil, e
	}
	conds, args, e := createdFilter(p)
	if e != nil {
		return nil, e
	}
	if v := p.optional("charge"); v != nil {
		conds, args = append(conds, "charge_id = ?"), append(args, *v)
	}
	if v := p.optional("payment_intent"); v != nil {
		conds, args = append(conds, "payment_intent_id = ?"), append(args, *v)
	}
	order := "created DESC, rowid DESC"
	for _, cur := range []struct {
		id    *string
		param string
		cmp   string
	}{{page.startingAfter, "starting_after", "<"}, {page.endingBefore, "ending_before", ">"}} {
		if cur.id == nil {
			continue
		}
		if _, err := loadStripeRefund(ctx, tx, *cur.id); errors.Is(err, simkit.ErrNotFound) {
			return nil, errNoSuch(http.StatusBadRequest, "refund", *cur.id, cur.param)
		} else if err != nil {
			return nil, err
		}
		conds = append(conds, "(created, rowid) "+cur.cmp+" (SELECT created, rowid FROM stripe_refunds WHERE id = ?)")
		args = append(args, *cur.id)
		if cur.cmp == ">" {
			order = "created ASC, rowid ASC" // the page just before the cursor; reversed below
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM stripe_refunds`+where+` ORDER BY `+order+` LIMIT ?`, append(args, page.limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list refunds: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	hasMore := len(ids) > page.limit
	ids = ids[:min(len(ids), page.limit)]
	if page.endingBefore != nil {
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		re, err := loadStripeRefund(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if err := s.stripeExpand(ctx, tx, re, exp); err != nil {
			return nil, err
		}
		data[i] = re
	}
	return newStripeList("/v1/refunds", data, hasMore), nil
}
