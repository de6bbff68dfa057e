package handlers

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/store"
)

// consentColumns are the export's columns, one row per mandate.
var consentColumns = []string{
	"mandate_id", "created_at", "status", "provider", "mode", "email", "name", "plan", "amount", "interval",
	"merchant", "terms_version", "terms_sha256", "authorization", "accepted_at", "client_ip", "user_agent",
	"confirmed_at", "revoked_by", "disputes",
}

// exportChunkTimeout is how long the export waits for its reader to take
// one chunk (500 rows, some 170 KB) before giving up on it.
const exportChunkTimeout = 30 * time.Second

// adminConsents streams every mandate's consent evidence as CSV, page by
// page from the database to the response, so its memory is the same at a
// hundred thousand rows as at ten, and a client that stops reading holds no
// database connection (see store.EachConsent).
func (h *handler) adminConsents(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="consents-`+h.now().UTC().Format("2006-01-02")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	rc := http.NewResponseController(w)
	// Each chunk has its own write deadline: a long export that keeps
	// moving may outlast the server's WriteTimeout, one whose reader
	// stalls is cut off. Nothing from the database is held meanwhile.
	rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout))
	if err := cw.Write(consentColumns); err != nil {
		return err
	}
	n := 0
	err := h.store.EachConsent(r.Context(), func(c store.ConsentRow) error {
		confirmed := ""
		if !c.ConfirmedAt.IsZero() {
			confirmed = c.ConfirmedAt.UTC().Format(time.RFC3339)
		}
		row := []string{
			c.MandateID, c.CreatedAt.UTC().Format(time.RFC3339), string(c.Status), c.Provider, string(c.Mode),
			c.Email, c.Name, c.Plan.Name, c.Plan.Price.String(), string(c.Plan.Interval),
			c.Consent.Merchant, c.Consent.TermsVersion, c.Consent.TermsSHA256, c.Consent.Authorization,
			c.Consent.AcceptedAt.UTC().Format(time.RFC3339), c.Consent.ClientIP, c.Consent.UserAgent, confirmed, c.RevokedBy,
			strconv.Itoa(c.Disputes),
		}
		for i := range row {
			row[i] = neutralise(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
		if n++; n%500 == 0 {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			rc.Flush() // keep the response moving, and its buffer small
			if err := rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout)); err != nil {
				return err
			}
		}
		return nil
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		// The header is sent: the best left is to say so in the log and cut
		// the response short, so the file is visibly incomplete.
		h.log.ErrorContext(r.Context(), "consent export stopped", "request_id", RequestID(r.Context()), "rows", n, "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// neutralise makes a cell that a spreadsheet would run as a formula (it
// starts with =, +, -, @, a tab or a carriage return) plain text, with the
// leading apostrophe OWASP recommends. A name such as
// "=HYPERLINK(…)" typed into the storefront then stays a name.
func neutralise(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
