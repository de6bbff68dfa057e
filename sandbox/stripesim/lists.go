package stripesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// GET /v1/payment_intents: a list object, newest first, paged with
// limit, starting_after and ending_before as every Stripe list is, and
// filtered by customer and created. The app uses it to find a
// PaymentIntent by its metadata after a crash.

var (
	paymentIntentFilters  = []listFilter{{"customer", "customer_id"}}
	paymentIntentListSpec = listSpec(paymentIntentFilters)
)

// chargeFilters are the filters of the refunds' and the disputes' lists.
var chargeFilters = []listFilter{{"charge", "charge_id"}, {"payment_intent", "payment_intent_id"}}

// listSpec is a list request's parameters: the paging every list takes,
// expand, created, and the filters, each a string.
func listSpec(filters []listFilter) paramSpec {
	fields := map[string]paramSpec{
		"created":        specRange,
		"ending_before":  specString,
		"expand":         specList,
		"limit":          specString,
		"starting_after": specString,
	}
	for _, f := range filters {
		fields[f.param] = specString
	}
	return specHash(fields)
}

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

// listing is one Stripe list endpoint: the objects it lists and the
// parameters that filter them.
type listing[T any] struct {
	object string // the object's type, as expand paths and "No such …" name it
	table  string // its table, whose rows have an id, created and a rowid
	url    string // the list object's url, e.g. /v1/refunds
	// filters maps a parameter to the column it must equal. An id that
	// does not exist matches nothing: the list is empty, which is the
	// plainest answer (Stripe documents none).
	filters []listFilter
	load    func(context.Context, simkit.Querier, string) (T, error)
}

type listFilter struct{ param, column string }

// stripeListObjects answers a list request as every Stripe list does:
// newest first (by created, then by insertion for the same second),
// paged with limit and one cursor, filtered by created and l's filters,
// and with has_more saying whether a page lies beyond this one.
func stripeListObjects[T any](ctx context.Context, s *Sim, tx *simkit.WriteTx, p *paramNode, l listing[T]) (any, error) {
	page, e := parseListPage(p)
	if e != nil {
		return nil, e
	}
	exp, e := parseListExpand(l.object, p)
	if e != nil {
		return nil, e
	}
	conds, args, e := createdFilter(p)
	if e != nil {
		return nil, e
	}
	for _, f := range l.filters {
		if v := p.optional(f.param); v != nil {
			conds, args = append(conds, f.column+" = ?"), append(args, *v)
		}
	}

	// A cursor pages from its own place in the order.
	order := "created DESC, rowid DESC"
	for _, cur := range []struct {
		id    *string
		param string
		cmp   string
	}{{page.startingAfter, "starting_after", "<"}, {page.endingBefore, "ending_before", ">"}} {
		if cur.id == nil {
			continue
		}
		if _, err := l.load(ctx, tx, *cur.id); errors.Is(err, simkit.ErrNotFound) {
			return nil, errNoSuch(http.StatusBadRequest, l.object, *cur.id, cur.param)
		} else if err != nil {
			return nil, fmt.Errorf("list %s: %w", l.url, err)
		}
		conds = append(conds, "(created, rowid) "+cur.cmp+" (SELECT created, rowid FROM "+l.table+" WHERE id = ?)")
		args = append(args, *cur.id)
		if cur.cmp == ">" {
			order = "created ASC, rowid ASC" // the page just before the cursor; reversed below
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	ids, err := queryIDs(ctx, tx, `SELECT id FROM `+l.table+where+` ORDER BY `+order+` LIMIT ?`, append(args, page.limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.url, err)
	}

	hasMore := len(ids) > page.limit
	ids = ids[:min(len(ids), page.limit)]
	if page.endingBefore != nil {
		slices.Reverse(ids)
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		obj, err := l.load(ctx, tx, id)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", l.url, err)
		}
		if err := s.stripeExpand(ctx, tx, obj, exp); err != nil {
			return nil, err
		}
		data[i] = obj
	}
	return newStripeList(l.url, data, hasMore), nil
}

func (s *Sim) stripeListPaymentIntents(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeListObjects(ctx, s, tx, req.params, listing[*stripePaymentIntent]{
		object:  "payment_intent",
		table:   "stripe_payment_intents",
		url:     "/v1/payment_intents",
		filters: paymentIntentFilters,
		load:    loadStripePaymentIntent,
	})
}
