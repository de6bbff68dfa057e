package pprosim

import (
	"context"
	"encoding/base64"
	"maps"
	"net/url"
	"strconv"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// GET /v1/payment-charges (searchPaymentCharge): the merchant's charges
// that match merchantPaymentChargeReference and agreementId, a page at a
// time, as {"data": [PaymentChargeResponse…], "nextPage": …, "_links": …}.
// The app finds a charge by its own reference with it, after a crash or a
// 409 left it without the charge's id.
//
// merchantPaymentChargeReference filters by the reference the charge was
// requested with (AgreementChargeRequest.merchantPaymentChargeReference),
// whether or not its authorizations echo it back (Settings.
// EchoChargeReference): PPRO documents the filter, and nowhere makes it
// depend on the echo. The charge object itself has no reference field of
// its own (only authorizations[] may carry one), so a client matches the
// search's results by the filter, not by reading the reference back.
// agreementId lists an agreement's charges, each with its agreementId.
//
// PPRO documents neither the order, the page size nor the cursor's form.
// The sandbox answers newest first, pproSearchPageSize at a time; nextPage
// is an opaque cursor, present only when there are more, that the client
// sends back as page. Each charge is shown as GET /v1/payment-charges/{id}
// shows it (a due capture or timeout happens first). _links has "self" and,
// with nextPage, "next": absolute URLs on the sandbox's public address, the
// one the agreements' requestUrl uses.

const pproSearchPageSize = 20

// pproChargePage is GetPaymentChargesResponse.
type pproChargePage struct {
	Data     []*pproCharge       `json:"data"`
	NextPage string              `json:"nextPage,omitempty"`
	Links    map[string]pproLink `json:"_links"`
}

// pproLink is a Link of _links.
type pproLink struct {
	Href string `json:"href"`
}

func (s *Sim) pproSearchCharges(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	f := pproChargeFilter{merchantID: req.merchantID}
	if q := req.query; q.Has("merchantPaymentChargeReference") {
		v := q.Get("merchantPaymentChargeReference")
		f.reference = &v
	}
	if q := req.query; q.Has("agreementId") {
		v := q.Get("agreementId")
		f.agreementID = &v
	}
	if req.query.Has("page") {
		page := req.query.Get("page")
		rowID, ok := parsePPROPage(page)
		if !ok {
			return nil, pproBadRequest("page %q is not a nextPage value this API returned.", page)
		}
		f.beforeRowID = rowID
	}
	rows, err := searchPPROCharges(ctx, tx, f, pproSearchPageSize+1)
	if err != nil {
		return nil, err
	}
	answer := pproChargePage{Data: []*pproCharge{}, Links: map[string]pproLink{"self": {Href: s.pproSearchURL(req, "")}}}
	if len(rows) > pproSearchPageSize {
		rows = rows[:pproSearchPageSize]
		answer.NextPage = formatPPROPage(rows[len(rows)-1].rowID)
		answer.Links["next"] = pproLink{Href: s.pproSearchURL(req, answer.NextPage)}
	}
	for _, r := range rows {
		c, err := s.pproCharge(ctx, tx, r.id)
		if err != nil {
			return nil, err
		}
		answer.Data = append(answer.Data, c.paymentChargeView())
	}
	return answer, nil
}

// pproSearchURL is the search's public URL with the request's filters and,
// unless "", page.
func (s *Sim) pproSearchURL(req *pproRequest, page string) string {
	query := maps.Clone(req.query) // Set replaces a value's slice, so a shallow copy will do
	if query == nil {
		query = url.Values{}
	}
	if page != "" {
		query.Set("page", page)
	}
	u := s.host.PageURL("/ppro/v1/payment-charges")
	if enc := query.Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}

// The page cursor: the row id of the last charge shown, which the next
// page starts after, in a form clients should not read into.
const pproPagePrefix = "before:"

func formatPPROPage(rowID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pproPagePrefix + strconv.FormatInt(rowID, 10)))
}

func parsePPROPage(page string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(page)
	if err != nil {
		return 0, false
	}
	n, ok := strings.CutPrefix(string(b), pproPagePrefix)
	if !ok {
		return 0, false
	}
	rowID, err := strconv.ParseInt(n, 10, 64)
	return rowID, err == nil && rowID > 0
}
