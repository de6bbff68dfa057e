package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/sessions"
)

const (
	sessionName = "storefront"
	// sessionMaxAge covers a Checkout Session's default 24 h life.
	sessionMaxAge = 24 * time.Hour
	// maxRemembered bounds the cookie: only ids are kept, the newest last.
	maxRemembered = 20
	mandatesKey   = "mandates"
)

// NewSessionStore returns a cookie store whose cookies are signed and
// encrypted with keys derived from secrets (the first signs new cookies; the
// rest still open old ones, for rotation). Options are explicit because
// gorilla's defaults are not HttpOnly and are SameSite=None.
func NewSessionStore(secrets [][]byte, secure bool) *sessions.CookieStore {
	var pairs [][]byte
	for _, s := range secrets {
		pairs = append(pairs, derive(s, "session-auth"), derive(s, "session-encrypt"))
	}
	st := sessions.NewCookieStore(pairs...)
	st.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(sessionMaxAge.Seconds()),
		HttpOnly: true,
		Secure:   secure,
		// Lax, not Strict: the cookie must come along on the top-level GET
		// back from the provider's site.
		SameSite: http.SameSiteLaxMode,
	}
	st.MaxAge(st.Options.MaxAge) // also makes the codecs reject older cookies
	return st
}

// cookieName is the session cookie's name: under HTTPS with the __Host-
// prefix, which browsers accept only when the cookie is Secure, has Path=/
// and no Domain, so no other host (a sibling subdomain) can set it.
func cookieName(secure bool) string {
	if secure {
		return "__Host-" + sessionName
	}
	return sessionName
}

// derive makes a 32-byte key for one purpose from a secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// session returns the browser's session. A cookie that no longer decodes
// (keys rotated away, tampered, expired) simply starts a new session.
func (h *handler) session(r *http.Request) *sessions.Session {
	s, err := h.sessions.New(r, cookieName(h.sessions.Options.Secure))
	if err != nil {
		h.log.DebugContext(r.Context(), "session cookie ignored", "request_id", RequestID(r.Context()), "error", err)
	}
	return s
}

func remembered(s *sessions.Session) []string {
	v, _ := s.Values[mandatesKey].(string)
	return strings.Fields(v)
}

// owns reports whether this browser started the mandate.
func (h *handler) owns(r *http.Request, mandateID string) bool {
	return slices.Contains(remembered(h.session(r)), mandateID)
}

// remember adds a mandate to this browser's session.
func (h *handler) remember(w http.ResponseWriter, r *http.Request, mandateID string) error {
	s := h.session(r)
	ids := append(remembered(s), mandateID)
	if len(ids) > maxRemembered {
		ids = ids[len(ids)-maxRemembered:]
	}
	s.Values[mandatesKey] = strings.Join(ids, " ")
	return s.Save(r, w)
}
