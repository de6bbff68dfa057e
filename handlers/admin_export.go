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

// adminConsents streams the consent evidence of the mandates the list
// shows for the query's filters (every mandate, oldest first, when there
// are none) as CSV, page by page from the database to the response, so its
// memory is the same at a hundred thousand rows as at ten, and a client
// that stops reading holds no database connection (see store.EachConsent).
func (h *handler) adminConsents(w http.ResponseWriter, r *http.Request) error {
	_, f, problems := h.listFilter(r.URL.Query())
	if len(problems) > 0 {
		http.Error(w, strings.Join(problems, " "), http.StatusBadRequest)
		return nil
	}
	row := func(c store.ConsentRow) []string {
		confirmed := ""
		if !c.ConfirmedAt.IsZero() {
			confirmed = c.ConfirmedAt.UTC().Format(time.RFC3339)
		}
		return []string{
			c.MandateID, c.CreatedAt.UTC().Format(time.RFC3339), string(c.Status), c.Provider, string(c.Mode),
			c.Email, c.Name, c.Plan.Name, c.Plan.Price.String(), string(c.Plan.Interval),
			c.Consent.Merchant, c.Consent.TermsVersion, c.Consent.TermsSHA256, c.Consent.Authorization,
			c.Consent.AcceptedAt.UTC().Format(time.RFC3339), c.Consent.ClientIP, c.Consent.UserAgent, confirmed, c.RevokedBy,
			strconv.Itoa(c.Disputes),
		}
	}
	return h.streamCSV(w, r, "consents", consentColumns, func(write func([]string) error) error {
		each := func(c store.ConsentRow) error { return write(row(c)) }
		if f == (store.ListFilter{}) {
			return h.store.EachConsent(r.Context(), each)
		}
		return h.store.EachListedConsent(r.Context(), f, each)
	})
}

// streamCSV answers with a CSV file, name-<date>.csv, of header and the
// rows each writes, each cell neutralised. Rows go out in chunks of 500,
// each with its own write deadline: a long export that keeps moving may
// outlast the server's WriteTimeout, one whose reader stalls is cut off;
// each must hold nothing from the database while write blocks.
func (h *handler) streamCSV(w http.ResponseWriter, r *http.Request, name string, header []string,
	each func(write func([]string) error) error) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`-`+h.now().UTC().Format("2006-01-02")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout))
	if err := cw.Write(header); err != nil {
		return err
	}
	n := 0
	err := each(func(row []string) error {
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
		h.log.ErrorContext(r.Context(), name+" export stopped", "request_id", RequestID(r.Context()), "rows", n, "error", err)
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
