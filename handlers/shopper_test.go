package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// The shopper cancels on their own page, in the browser that made the
// mandate: the provider is told, the mandate is revoked by the shopper.
func TestShopperCancelsOnTheirPage(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, shopper := e.activeMandate(provider)
			page := shopper.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK)
			if got, _ := page.TestID("shopper-status"); got != "active" {
				t.Errorf("status shown %q", got)
			}
			if !strings.Contains(page.Text(), m.Consent.Authorization) || !strings.Contains(page.Text(), "12.00 USD") {
				t.Errorf("the page does not show what was agreed: %s", page.Text())
			}
			if page.Count("cancel-form") != 1 {
				t.Fatal("no cancel form")
			}
			// Nobody else's browser sees it.
			pagetest.NewBrowser(t).Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusNotFound)
			other, _ := e.activeMandate(provider)
			shopper.Get(e.URL + "/mandates/" + other.ID).Expect(http.StatusNotFound)

			done := e.send(shopper, page.Submit("", "/cancel", nil))
			if !strings.HasSuffix(done.URL.String(), "/mandates/"+m.ID+"?cancelled=1") {
				t.Errorf("after cancelling at %s", done.URL)
			}
			e.cancelledByShopper(done, m)
			e.mandate(other.ID, mandate.Active)
		})
	}
}

// The signed link (for an email) opens the shopper's page in any browser,
// and cancels from there; a tampered link opens nothing, an expired one
// only the offer of a fresh link, and neither cancels anything.
func TestShopperCancelsFromTheSignedLink(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(provider)
			other, _ := e.activeMandate(provider)
			// The link lives in real time: a demo clock moved months ahead
			// neither shortens nor stretches it.
			e.Clock.Advance(90 * 24 * time.Hour)
			// What the 90 days made due is charged first: a background pass
			// charging it while the bad links are tried would be a call
			// they did not cause.
			e.chargeDue()
			link := e.adminPage(e.adminBrowser(), m.ID).TestIDAttr("shopper-link", "href")
			u, err := url.Parse(link)
			if err != nil || !strings.HasPrefix(link, e.URL+"/mandates/"+m.ID+"?") {
				t.Fatalf("shopper link %q", link)
			}
			exp, sig := u.Query().Get("e"), u.Query().Get("s")
			if n, err := strconv.ParseInt(exp, 10, 64); err != nil || time.Until(time.Unix(n, 0)).Round(time.Hour) != 30*24*time.Hour {
				t.Errorf("the link expires at %q, want in 30 days of real time", exp)
			}

			if linkSig(m.ID, exp) != sig {
				t.Fatalf("linkSig does not sign as the app does: %s, the app %s", linkSig(m.ID, exp), sig)
			}
			calls := e.recordCalls()
			stranger := pagetest.NewBrowser(t)
			past := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
			for name, q := range map[string]string{
				"no signature":         "",
				"signature changed":    "?e=" + exp + "&s=" + flip(sig),
				"signature shortened":  "?e=" + exp + "&s=" + sig[:len(sig)-2],
				"expiry moved":         "?e=" + strconv.FormatInt(mustInt(t, exp)+86400, 10) + "&s=" + sig,
				"expired":              "?e=" + past + "&s=" + linkSig(m.ID, past),
				"another mandate's":    "?e=" + exp + "&s=" + linkSig(other.ID, exp),
				"garbage expiry":       "?e=soon&s=" + sig,
				"signed for the other": "?e=" + exp + "&s=" + sig,
			} {
				target := m.ID
				if name == "signed for the other" {
					target = other.ID // m's valid signature on the other mandate's page
				}
				// A genuine link that expired offers a fresh one (see
				// TestExpiredLinkOffersAFreshOne), and shows nothing more.
				want, wantPage := http.StatusNotFound, 0
				if name == "expired" {
					want, wantPage = http.StatusOK, 1
				}
				p := stranger.Get(e.URL + "/mandates/" + target + q)
				if p.Status != want || p.Count("shopper-link") != wantPage || strings.Contains(p.Body, "ada@example.com") {
					t.Errorf("%s: GET answered %d", name, p.Status)
				}
				v, _ := url.ParseQuery(strings.TrimPrefix(q, "?"))
				form := url.Values{"e": {v.Get("e")}, "s": {v.Get("s")}}
				if p := stranger.Do(postForm(t, e.URL+"/mandates/"+target+"/cancel", form)); p.Status != want ||
					p.Count("shopper-link") != wantPage || p.Count("cancel-form") != 0 {
					t.Errorf("%s: cancel answered %d", name, p.Status)
				}
			}
			if got := calls.list(); len(got) != 0 {
				t.Errorf("a bad link called the provider: %v", got)
			}
			e.mandate(m.ID, mandate.Active)
			e.mandate(other.ID, mandate.Active)
			e.Intercept(nil)

			// The real link, in a browser that never saw the mandate.
			page := stranger.Get(link).Expect(http.StatusOK)
			if got, _ := page.TestID("shopper-status"); got != "active" || page.Count("cancel-form") != 1 {
				t.Fatalf("the linked page: status %q, %d cancel forms", got, page.Count("cancel-form"))
			}
			done := e.send(stranger, page.Submit("", "/cancel", nil))
			if q := done.URL.Query(); q.Get("cancelled") != "1" || q.Get("e") != exp || q.Get("s") != sig {
				t.Errorf("after cancelling at %s", done.URL)
			}
			e.cancelledByShopper(done, m)
			e.mandate(other.ID, mandate.Active)
		})
	}
}

// cancelledByShopper checks the page after a shopper's cancellation, the
// record and the provider's.
func (e *env) cancelledByShopper(done *pagetest.Page, m store.Mandate) {
	e.t.Helper()
	if got, _ := done.TestID("shopper-status"); got != "cancelled" {
		e.t.Errorf("status shown %q", got)
	}
	if msg, _ := done.TestID("shopper-message"); !strings.Contains(msg, "cancelled") {
		e.t.Errorf("message %q", msg)
	}
	if done.Count("cancel-form") != 0 {
		e.t.Error("a cancelled mandate still offers to cancel")
	}
	m = e.mandate(m.ID, mandate.Revoked)
	h, err := e.Store.History(context.Background(), m.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	last := h[len(h)-1]
	if m.RevokedBy != payments.RevokedByShopper || last.Source != mandate.SourceShopper || last.To != mandate.Revoked {
		e.t.Errorf("revoked by %q; history %+v", m.RevokedBy, last)
	}
	e.providerRevoked(m)
	// The merchant sees who cancelled.
	if by, _ := e.adminPage(e.adminBrowser(), m.ID).TestID("revoked-by"); by != "shopper" {
		e.t.Errorf("the dashboard says revoked by %q", by)
	}
}

// linkSig signs a shopper link as the app does with the test env's key.
func linkSig(id, expires string) string {
	m := hmac.New(sha256.New, []byte(strings.Repeat("l", 32)))
	m.Write([]byte("mandate-page\x00" + id + "\x00" + expires))
	return hex.EncodeToString(m.Sum(nil)[:20])
}

// flip changes a signature's last hex digit.
func flip(sig string) string {
	last := "0"
	if strings.HasSuffix(sig, "0") {
		last = "1"
	}
	return sig[:len(sig)-1] + last
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A cancelled subscription's page says who or what ended it, and when:
// the shopper, the shop, or payments that kept failing.
func TestShopperPageSaysWhyItEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	why := func(e *env, b *pagetest.Browser, id string) string {
		t.Helper()
		text, _ := b.Get(e.URL + "/mandates/" + id).Expect(http.StatusOK).TestID("shopper-ended")
		return text
	}
	t.Run("the shop", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		m, shopper := e.activeMandate("stripe")
		if got := why(e, shopper, m.ID); got != "" {
			t.Errorf("an active subscription says why it ended: %q", got)
		}
		if _, err := e.Service.Revoke(ctx, m, payments.RevokedByMerchant, mandate.SourceMerchant); err != nil {
			t.Fatal(err)
		}
		if got := why(e, shopper, m.ID); !strings.HasPrefix(got, "Northwind Coffee cancelled it on ") ||
			!strings.Contains(got, "write to support@northwind.example") {
			t.Errorf("revoked by the shop: %q", got)
		}
	})
	t.Run("the shopper", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		m, shopper := e.activeMandate("ppro")
		page := shopper.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK)
		e.send(shopper, page.Submit("", "/cancel", nil))
		if got := why(e, shopper, m.ID); got != "You cancelled it on "+e.Clock.Now().UTC().Format("2 January 2006")+"." {
			t.Errorf("cancelled by the shopper: %q", got)
		}
	})
	t.Run("payments that kept failing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withPlan(payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1202, Currency: "USD"}, Interval: payments.Month}))
		m, shopper := e.activeMandate("stripe") // every payment declines
		for range 10 {
			if now, err := e.Store.Mandate(ctx, m.ID); err != nil || now.Status == mandate.Revoked {
				break
			}
			e.Clock.Advance(24 * time.Hour)
			if _, err := e.Worker.Pass(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := why(e, shopper, m.ID); !strings.HasPrefix(got, "It ended on ") || !strings.Contains(got, "could not be taken after several tries") {
			t.Errorf("ended for non-payment: %q", got)
		}
		if got, _ := shopper.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK).TestID("shopper-status"); got != "cancelled" {
			t.Errorf("status %q", got)
		}
	})
}
