package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// paymentColumns are the payments export's columns, one row per payment
// (every attempt, paid or not).
var paymentColumns = []string{
	"payment_id", "created_at", "mandate_id", "email", "name", "provider", "provider_payment_id", "kind", "initiated_by",
	"period", "attempt", "amount", "currency", "status", "failure_code", "failure_reason", "refunded",
}

// refundColumns are the refunds export's columns, one row per refund.
var refundColumns = []string{
	"refund_id", "created_at", "mandate_id", "email", "name", "provider", "provider_refund_id", "payment_id",
	"provider_payment_id", "amount", "currency", "status", "failure_reason",
}

// adminPayments streams the payments of the mandates the list shows for
// the query's filters as CSV (mandates newest first, each one's payments
// oldest first), as the consents export does.
func (h *handler) adminPayments(w http.ResponseWriter, r *http.Request) error {
	_, f, problems := h.listFilter(r.URL.Query())
	if len(problems) > 0 {
		http.Error(w, strings.Join(problems, " "), http.StatusBadRequest)
		return nil
	}
	return h.streamCSV(w, r, "payments", paymentColumns, func(write func([]string) error) error {
		return h.store.EachPayment(r.Context(), f, func(p store.PaymentRow) error {
			c := p.Charge
			period := ""
			if c.Period > 0 {
				period = strconv.Itoa(c.Period)
			}
			return write([]string{
				strconv.FormatInt(c.ID, 10), c.CreatedAt.UTC().Format(time.RFC3339), c.MandateID, p.Mandate.Email, p.Mandate.Name,
				p.Mandate.Provider, c.ProviderRef, c.Kind, c.InitiatedBy, period, strconv.Itoa(c.Attempt),
				c.Amount.Major(), c.Amount.Currency, string(c.Status), c.FailureCode, c.FailureReason,
				payments.Money{Amount: c.Refunded, Currency: c.Amount.Currency}.Major(),
			})
		})
	})
}

// adminRefunds streams the refunds of the mandates the list shows for the
// query's filters as CSV, each with its payment.
func (h *handler) adminRefunds(w http.ResponseWriter, r *http.Request) error {
	_, f, problems := h.listFilter(r.URL.Query())
	if len(problems) > 0 {
		http.Error(w, strings.Join(problems, " "), http.StatusBadRequest)
		return nil
	}
	return h.streamCSV(w, r, "refunds", refundColumns, func(write func([]string) error) error {
		return h.store.EachRefund(r.Context(), f, func(x store.RefundRow) error {
			rf := x.Refund
			return write([]string{
				strconv.FormatInt(rf.ID, 10), rf.CreatedAt.UTC().Format(time.RFC3339), x.Mandate.ID, x.Mandate.Email, x.Mandate.Name,
				x.Mandate.Provider, rf.ProviderRef, strconv.FormatInt(x.Charge.ID, 10), x.Charge.ProviderRef,
				rf.Amount.Major(), rf.Amount.Currency, string(rf.Status), rf.FailureReason,
			})
		})
	})
}
