package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"example.com/storefront/store"
	"example.com/storefront/views"
)

// Admin is the merchant's side: a password, a store of sessions, and, in an
// all-sandbox demo, the demo clock.
type Admin struct {
	// Password guards /admin; required.
	Password string
	// SessionTTL is how long a login lasts; 0 means 8 hours.
	SessionTTL time.Duration
	// Clock is the demo clock, only in an all-sandbox demo (nil otherwise):
	// the dashboard shows it and can move it forward.
	Clock DemoClock
}

const adminCookie = "storefront_admin"

// adminCookieName is the admin session cookie's name, __Host- prefixed
// under HTTPS (as the shopper's is).
func (h *handler) adminCookieName() string {
	if h.sessions.Options.Secure {
		return "__Host-" + adminCookie
	}
	return adminCookie
}

// requireAdmin lets a request through only with a live admin session. A
// shopper's session grants nothing here: it is another cookie. Without one,
// a page asks for the login (and comes back after it); nothing changes.
func (h *handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(h.adminCookieName())
		if token, ok := h.adminToken(c, err); ok {
			if err = h.store.AdminSession(r.Context(), token); err == nil {
				w.Header().Set("Cache-Control", "no-store")
				next.ServeHTTP(w, r)
				return
			}
			if !errors.Is(err, store.ErrNoSession) {
				h.fail(w, r, err)
				return
			}
		}
		next := "/admin"
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	})
}

// An admin cookie is the session's token and its MAC under a key derived
// from ADMIN_PASSWORD: a new password ends every session made under the old
// one, on every process sharing the database, with nothing about the
// password stored anywhere.

// adminMAC signs a session token.
func (h *handler) adminMAC(token string) string {
	return hex.EncodeToString(derive(h.adminKey, token))
}

// adminToken is the session token of an admin cookie whose MAC holds.
func (h *handler) adminToken(c *http.Cookie, err error) (string, bool) {
	if err != nil {
		return "", false
	}
	token, mac, ok := strings.Cut(c.Value, ".")
	if !ok || token == "" || !hmac.Equal([]byte(mac), []byte(h.adminMAC(token))) {
		return "", false
	}
	return token, true
}

func (h *handler) adminChrome(r *http.Request, title string) views.AdminChrome {
	c := views.AdminChrome{Title: title, Merchant: h.merchant, Badges: h.chrome("", views.StepNone).Badges, LoggedIn: true}
	if h.admin.Clock != nil {
		c.Clock = h.clockView(r)
		c.Flash = h.movedFlash(r)
		c.SandboxURL = h.sandboxURL
	}
	return c
}

func (h *handler) adminLoginPage(w http.ResponseWriter, r *http.Request) error {
	h.renderLogin(w, r, http.StatusOK, "", safeNext(r.URL.Query().Get("next")))
	return nil
}

func (h *handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg, next string) {
	h.render(w, r, status, views.AdminLoginPage(views.AdminLogin{
		AdminChrome: views.AdminChrome{Title: "Log in", Merchant: h.merchant, Badges: h.chrome("", views.StepNone).Badges},
		Error:       msg, Next: next,
	}))
}

// adminLogin checks the password in constant time. Failed attempts are
// limited per client, in the database, so the limit holds across every
// instance: after a few, the client waits (429) before the password is
// even looked at. Each try takes an attempt before its form is read, and a
// correct password gives it back, so tries sent at once or with slow
// bodies get no more than tries one after the other.
func (h *handler) adminLogin(w http.ResponseWriter, r *http.Request) error {
	client := h.clientIP(r)
	attempt, ok, wait, err := h.store.TakeLoginAttempt(r.Context(), clientKey(client), h.loginFailures, loginWindow)
	if err != nil {
		return err
	}
	if !ok {
		tooManyRequests(w, r, wait, h)
		return nil
	}
	giveBack := func() {
		if err := h.store.ReturnLoginAttempt(context.WithoutCancel(r.Context()), attempt); err != nil {
			h.log.WarnContext(r.Context(), "could not give a login attempt back", "error", err)
		}
	}
	if err := r.ParseForm(); err != nil {
		giveBack()
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	next := safeNext(r.PostForm.Get("next"))
	if !samePassword(r.PostForm.Get("password"), h.admin.Password) {
		h.log.WarnContext(r.Context(), "admin login failed", "request_id", RequestID(r.Context()), "client", client)
		h.renderLogin(w, r, http.StatusUnauthorized, "That password is not right.", next)
		return nil
	}
	giveBack()
	token, err := h.store.CreateAdminSession(r.Context(), h.admin.SessionTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.adminCookieName(), Value: token + "." + h.adminMAC(token), Path: "/", MaxAge: int(h.admin.SessionTTL.Seconds()),
		HttpOnly: true, Secure: h.sessions.Options.Secure, SameSite: http.SameSiteStrictMode,
	})
	h.log.InfoContext(r.Context(), "admin logged in", "request_id", RequestID(r.Context()), "client", client)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// samePassword compares in constant time; hashing first makes the time
// independent of the lengths too.
func samePassword(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && want != ""
}

// safeNext keeps a post-login destination inside the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin"
	}
	return next
}

func (h *handler) adminLogout(w http.ResponseWriter, r *http.Request) error {
	if token, ok := h.adminToken(r.Cookie(h.adminCookieName())); ok {
		if err := h.store.EndAdminSession(r.Context(), token); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: h.adminCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.sessions.Options.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
	return nil
}
