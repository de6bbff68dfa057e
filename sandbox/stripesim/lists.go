package stripesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// GET /v1/payment_intents: a list object, newest first, paged with
// limit, starting_after and ending_before as every Stripe list is, and
// filtered by customer and created. The app uses it to find a
// PaymentIntent by its metadata after a crash.

var paymentIntentListSpec = specHash(map[string]paramSpec{
	"created":        specRange,
	"customer":       specString,
	"ending_before":  specString,
	"expand":         specList,
	"limit":          specString,
	"starting_after": specString,
})

// listPage is a list request's paging.
type listPage struct {
	limit         int
	startingAfter *string
	endingBefore  *string
}

// parseListPage reads limit (1 to 100, default 10) and one cursor.
func parseListPage(p *paramNode) (listPage, *stripeError) {
	page := listPage{limit: 10, startingAfter: p.optional("starting_after"), endingBefore: p.optional("ending_before")}
	if page.startingAfter != nil && page.endingBefore != nil {
		return page, errParamInvalid("ending_before", "You may only specify one of these parameters: starting_after, ending_before.")
	}
	if v := p.optional("limit"); v != nil {
		n, err := strconv.Atoi(*v)
		switch {
		case err != nil:
			return page, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_invalid_integer", "limit", "Invalid integer: "+*v)
		case n < 1:
			return page, errParamInvalid("limit", "This value must be greater than or equal to 1.")
		case n > 100:
			return page, errParamInvalid("limit", "This value must be less than or equal to 100.")
		}
		page.limit = n
	}
	return page, nil
}

// parseListExpand reads a list's expand parameter, whose paths start with
// "data." and then name what each item (of objType) can expand.
func parseListExpand(objType string, p *paramNode) (expandTree, *stripeError) {
	paths, _ := p.list("expand")
	inner := make([]string, len(paths))
	for i, path := range paths {
		rest, ok := strings.CutPrefix(path, "data.")
		if !ok {
			return nil, errParamInvalid(listParamName("expand", i),
				"This property cannot be expanded (%s). You may want to try expanding 'data.%s' instead.", path, path)
		}
		inner[i] = rest
	}
	return expandPaths(objType, inner)
}

// createdFilter turns a list's created parameter (a Unix time, or a hash
// of gt, gte, lt and lte) into SQL conditions.
func createdFilter(p *paramNode) (conds []string, args []any, e *stripeError) {
	node := p.lookup("created")
	if node == nil {
		return nil, nil, nil
	}
	ops := map[string]string{"": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
	values := map[string]string{}
	if node.isLeaf() {
		if node.value == "" {
			return nil, nil, nil
		}
		values[""] = node.value
	} else {
		for k, c := range node.children {
			values[k] = c.value
		}
	}
	for _, k := range sortedKeys(values) {
		param := "created"
		if k != "" {
			param = childPath("created", k)
		}
		n, err := strconv.ParseInt(values[k], 10, 64)
		if err != nil {
			return nil, nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_invalid_integer", param, "Invalid integer: "+values[k])
		}
		conds, args = append(conds, "created "+ops[k]+" ?"), append(args, n)
	}
	return conds, args, nil
}

func (s *Sim) stripeListPaymentIntents(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	p := req.params
	page, e := parseListPage(p)
	if e != nil {
		return nil, e
	}
	exp, e := parseListExpand("payment_intent", p)
	if e != nil {
		return nil, e
	}
	conds, args, e := createdFilter(p)
	if e != nil {
		return nil, e
	}
	// A customer that does not exist has no PaymentIntents: the list is
	// empty, which is the plainest answer (Stripe documents none).
	if c := p.optional("customer"); c != nil {
		conds, args = append(conds, "customer_id = ?"), append(args, *c)
	}

	// Newest first: by created, then by insertion (rowid) for the same
	// second. A cursor pages from its own place in that order.
	order := "created DESC, rowid DESC"
	for _, cur := range []struct {
		id    *string
		param string
		cmp   string
	}{{page.startingAfter, "starting_after", "<"}, {page.endingBefore, "ending_before", ">"}} {
		if cur.id == nil {
			continue
		}
		if _, err := loadStripePaymentIntent(ctx, tx, *cur.id); errors.Is(err, simkit.ErrNotFound) {
			return nil, errNoSuch(http.StatusBadRequest, "payment_intent", *cur.id, cur.param)
		} else if err != nil {
			return nil, err
		}
		conds = append(conds, "(created, rowid) "+cur.cmp+" (SELECT created, rowid FROM stripe_payment_intents WHERE id = ?)")
		args = append(args, *cur.id)
		if cur.cmp == ">" {
			order = "created ASC, rowid ASC" // the page just before the cursor; reversed below
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+paymentIntentColumns+` FROM stripe_payment_intents`+where+
		` ORDER BY `+order+` LIMIT ?`, append(args, page.limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("list payment intents: %w", err)
	}
	var items []*stripePaymentIntent
	for rows.Next() {
		pi, err := scanStripePaymentIntent(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list payment intents: %w", err)
		}
		items = append(items, pi)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list payment intents: %w", err)
	}

	hasMore := len(items) > page.limit
	items = items[:min(len(items), page.limit)]
	if page.endingBefore != nil {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	data := make([]any, len(items))
	for i, pi := range items {
		if err := s.stripeExpand(ctx, tx, pi, exp); err != nil {
			return nil, err
		}
		data[i] = pi
	}
	return newStripeList("/v1/payment_intents", data, hasMore), nil
}
