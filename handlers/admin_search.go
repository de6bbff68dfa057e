package handlers

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

// filterDate is how the list's date fields are typed (an <input
// type="date">'s value).
const filterDate = "2006-01-02"

// listFilter reads the list's filters from a query (the page's, or an
// export's): what to show back in the form, what to ask the store, and a
// sentence for each filter that could not be applied (it is then left
// out). "email" is the search box's old name, still read for old links.
func (h *handler) listFilter(q url.Values) (views.ListFilter, store.ListFilter, []string) {
	f := views.ListFilter{Provider: q.Get("provider"), Status: q.Get("status"), Billing: q.Get("billing"), Query: q.Get("q"),
		Disputed: q.Get("disputed") != "", From: q.Get("from"), To: q.Get("to"), MinPrice: q.Get("min"), MaxPrice: q.Get("max")}
	if f.Query == "" {
		f.Query = q.Get("email")
	}
	f.Query = truncate(strings.TrimSpace(f.Query), 200)
	var problems []string
	if _, ok := h.providers[f.Provider]; f.Provider != "" && !ok {
		f.Provider, problems = "", append(problems, "There is no provider "+strconv.Quote(truncate(q.Get("provider"), 40))+".")
	}
	if f.Status != "" && !mandate.Status(f.Status).Valid() {
		f.Status, problems = "", append(problems, "There is no status "+strconv.Quote(truncate(q.Get("status"), 40))+".")
	}
	if f.Billing != "" && !slices.Contains(billingStates, f.Billing) {
		f.Billing, problems = "", append(problems, "There is no billing state "+strconv.Quote(truncate(q.Get("billing"), 40))+".")
	}
	sf := store.ListFilter{Provider: f.Provider, Status: mandate.Status(f.Status), Billing: f.Billing, Query: f.Query, Disputed: f.Disputed}
	date := func(label string, v *string) time.Time {
		if *v == "" {
			return time.Time{}
		}
		d, err := time.Parse(filterDate, strings.TrimSpace(*v))
		if err != nil {
			problems = append(problems, "The "+label+" date "+strconv.Quote(truncate(*v, 40))+" is not a date such as 2026-12-31.")
			*v = ""
		}
		return d
	}
	sf.CreatedFrom = date("from", &f.From)
	if to := date("to", &f.To); !to.IsZero() {
		sf.CreatedBefore = to.AddDate(0, 0, 1) // the whole of the "to" day
	}
	price := func(label string, v *string) int64 {
		if *v == "" {
			return 0
		}
		n, err := payments.ParseAmount(*v, h.plan.Price.Currency)
		if err != nil {
			problems = append(problems, "The "+label+" price "+strconv.Quote(truncate(*v, 40))+" is not an amount such as 12.00.")
			*v = ""
		}
		return n
	}
	sf.MinAmount = price("lowest", &f.MinPrice)
	sf.MaxAmount = price("highest", &f.MaxPrice)
	return f, sf, problems
}

// filterValues is f as a query, to carry the filters into a link (a count,
// a page, an export); status and billing are the link's own.
func filterValues(f views.ListFilter, status, billing string, disputed bool) url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"provider": f.Provider, "q": f.Query, "status": status, "billing": billing,
		"from": f.From, "to": f.To, "min": f.MinPrice, "max": f.MaxPrice} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if disputed {
		v.Set("disputed", "1")
	}
	return v
}

// withQuery is path with v, or path alone.
func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
