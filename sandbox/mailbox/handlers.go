package mailbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// maxRequestBytes caps a delivery's JSON. It is larger than MaxBodyBytes
// because JSON may escape every "<" of the HTML part as six bytes.
const maxRequestBytes = 4 * MaxBodyBytes

// htmlPartCSP is the policy of a message's HTML part: it may style itself
// and show inline images, nothing else (no script, no request to anywhere
// when the page opens), and it runs sandboxed even when opened on its own.
// Only the sandbox's own message page may frame it. Links open in a new
// tab, outside the sandbox, as a mail client opens them.
const htmlPartCSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'; " +
	"frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"

// Routes mounts the mailbox's pages (wrapped by pages) and its delivery
// endpoint on mux. authorized tells a delivery from the storefront (which
// holds the sandbox's API key) from anyone else's.
func (b *Box) Routes(mux *http.ServeMux, pages *simkit.Pages, authorized func(*http.Request) bool) {
	mux.HandleFunc("POST /sandbox/mail/messages", func(w http.ResponseWriter, r *http.Request) {
		b.handleDeliver(w, r, authorized)
	})
	mux.Handle("GET /sandbox/mail", pages.Page(b.handleList))
	mux.Handle("GET /sandbox/mail/{id}", pages.Page(b.handleMessage))
	mux.HandleFunc("GET /sandbox/mail/{id}/html", b.handleHTMLPart)
}

func (b *Box) handleDeliver(w http.ResponseWriter, r *http.Request, authorized func(*http.Request) bool) {
	w.Header().Set("Cache-Control", "no-store")
	if !authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox"`)
		writeJSON(w, http.StatusUnauthorized, apiError{"send the sandbox's API key (its Stripe secret key) as a bearer token"})
		return
	}
	var msg Message
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&msg); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{fmt.Sprintf("the request is larger than %d bytes", maxRequestBytes)})
			return
		}
		writeJSON(w, http.StatusBadRequest, apiError{`want a JSON object {"key", "from", "to", "subject", "text", "html", "headers"}: ` + err.Error()})
		return
	}
	d, err := b.Deliver(r.Context(), msg)
	if invalid, ok := errors.AsType[*InvalidError](err); ok {
		writeJSON(w, http.StatusBadRequest, apiError{invalid.Error()})
		return
	}
	if err != nil {
		b.host.Logger().Error("sandbox mailbox delivery", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{"the mailbox could not store the message; the details are in the sandbox's log"})
		return
	}
	code := http.StatusCreated
	if d.Duplicate {
		code = http.StatusOK
	}
	writeJSON(w, code, d)
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (b *Box) meta(title string) simkit.PageMeta {
	return b.host.Meta(title, simkit.ThemeSandbox, "")
}

func (b *Box) handleList(w http.ResponseWriter, r *http.Request) {
	q := Query{To: strings.TrimSpace(r.URL.Query().Get("to"))}
	if s := r.URL.Query().Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			b.host.RenderMessage(w, r, http.StatusBadRequest, b.meta("Mailbox"), simkit.MessageView{
				Title: "This page of the mailbox does not exist", Body: "The link's “before” is not a message number.",
				LinkURL: b.listURL("", 0), LinkText: "The newest messages",
			})
			return
		}
		q.Before = n
	}
	page, err := b.List(r.Context(), q)
	if err != nil {
		b.host.ServerError(w, r, b.meta("Mailbox"), err)
		return
	}
	v := listView{To: q.To, Filtered: q.To != "", Older: q.Before != 0, AllURL: b.listURL("", 0), FirstURL: b.listURL(q.To, 0)}
	for _, m := range page.Messages {
		v.Rows = append(v.Rows, listRow{To: m.To, Subject: m.Subject, Received: formatTime(m), URL: b.messageURL(m.ID, "")})
	}
	if page.Next != 0 {
		v.NextURL = b.listURL(q.To, page.Next)
	}
	b.host.Render(w, r, http.StatusOK, listPage(b.meta("Mailbox"), v))
}

func (b *Box) handleMessage(w http.ResponseWriter, r *http.Request) {
	m, ok := b.lookup(w, r)
	if !ok {
		return
	}
	part := r.URL.Query().Get("part")
	if part != "text" && m.HTML != "" {
		part = "html"
	} else {
		part = "text"
	}
	v := messageView{
		Stored: m, Date: formatTime(m), Part: part,
		HTMLTabURL: b.messageURL(m.ID, "html"), TextTabURL: b.messageURL(m.ID, "text"),
		HTMLPartURL: fmt.Sprintf("%s/mail/%d/html", b.host.BasePath(), m.ID),
		ListURL:     b.listURL("", 0), RecipientURL: b.listURL(recipient(m.To), 0),
	}
	for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
		v.Extra = append(v.Extra, header{name, m.Headers[name]})
	}
	// The page frames the message's HTML part, which only this page may do.
	simkit.AllowSelfFrames(w)
	b.host.Render(w, r, http.StatusOK, messagePage(b.meta(m.Subject), v))
}

// handleHTMLPart serves a message's HTML part on its own, for the message
// page's sandboxed iframe: the email's HTML is the storefront's, but a
// demo must not run whatever a template let through.
func (b *Box) handleHTMLPart(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", htmlPartCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	m, err := b.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) || (err == nil && m.HTML == "") {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		b.host.Logger().Error("sandbox mailbox html part", "id", id, "err", err)
		http.Error(w, "The mailbox could not read this message.", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(withLinksInNewTab(m.HTML)))
}

// lookup is the message the path names, or false after a not-found page.
func (b *Box) lookup(w http.ResponseWriter, r *http.Request) (Stored, bool) {
	notFound := func() {
		b.host.RenderMessage(w, r, http.StatusNotFound, b.meta("Not found"), simkit.MessageView{
			Title: "There is no such message", Body: "The mailbox keeps the newest " + strconv.Itoa(Keep) + " messages; this one may be older, or belong to another sandbox database.",
			LinkURL: b.listURL("", 0), LinkText: "The mailbox",
		})
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		notFound()
		return Stored{}, false
	}
	m, err := b.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		notFound()
		return Stored{}, false
	}
	if err != nil {
		b.host.ServerError(w, r, b.meta("Mailbox"), err)
		return Stored{}, false
	}
	return m, true
}

// withLinksInNewTab makes the HTML part's links open in a new tab, as mail
// clients do: in the iframe they would open inside the sandbox's page,
// where the storefront's pages refuse to be framed. The base element goes
// into the head (or after the doctype), never before the doctype, which
// would put the page in quirks mode; the first base element wins.
func withLinksInNewTab(html string) string {
	const base = `<base target="_blank">`
	lower := strings.ToLower(html)
	at := 0
	if i := strings.Index(lower, "<head"); i >= 0 && (len(lower) == i+5 || lower[i+5] == '>' || lower[i+5] == ' ') {
		if j := strings.IndexByte(lower[i:], '>'); j >= 0 {
			at = i + j + 1
		}
	} else if strings.HasPrefix(strings.TrimSpace(lower), "<!doctype") {
		at = strings.IndexByte(lower, '>') + 1
	}
	return html[:at] + base + html[at:]
}

func (b *Box) listURL(to string, before int64) string {
	q := url.Values{}
	if to != "" {
		q.Set("to", to)
	}
	if before != 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	u := b.host.BasePath() + "/mail"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (b *Box) messageURL(id int64, part string) string {
	u := fmt.Sprintf("%s/mail/%d", b.host.BasePath(), id)
	if part != "" {
		u += "?part=" + part
	}
	return u
}

// recipient is the bare address of a To header that Deliver accepted.
func recipient(to string) string {
	a, err := mail.ParseAddress(to)
	if err != nil {
		return ""
	}
	return strings.ToLower(a.Address)
}

// formatTime is when m arrived, on the sandbox's clock, as the pages show it.
func formatTime(m Stored) string {
	return m.ReceivedAt.Format("2 Jan 2006, 15:04 UTC")
}
