package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
)

// adminCookie logs in to app with password and returns the session cookie.
func adminCookie(t *testing.T, app *started, password string) *http.Cookie {
	t.Helper()
	resp, err := noRedirects.PostForm(app.URL+"/admin/login", url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "storefront_admin" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("login with %q: %d, no session cookie", password, resp.StatusCode)
	return nil
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// dashboard is the status of GET /admin with cookie: 200, or 303 to the login.
func dashboard(t *testing.T, app *started, cookie *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, app.URL+"/admin", nil)
	req.AddCookie(cookie)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A new ADMIN_PASSWORD ends the sessions made under the old one: two
// processes on one data directory, each with its own password, accept only
// their own sessions, and a restart with the same password keeps them.
func TestChangedAdminPasswordEndsSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const oldPW, newPW = "old password, leaked", "new password, chosen"
	before := start(t, map[string]string{"DATA_DIR": dir, "ADMIN_PASSWORD": oldPW})
	after := start(t, map[string]string{"DATA_DIR": dir, "ADMIN_PASSWORD": newPW})
	oldCookie := adminCookie(t, before, oldPW)
	if got := dashboard(t, before, oldCookie); got != http.StatusOK {
		t.Fatalf("the session's own process answers %d", got)
	}
	if got := dashboard(t, after, oldCookie); got != http.StatusSeeOther {
		t.Errorf("a session made under the old password opens the dashboard of the new one: %d", got)
	}
	newCookie := adminCookie(t, after, newPW)
	if got := dashboard(t, before, newCookie); got != http.StatusSeeOther {
		t.Errorf("a session made under the new password opens the old one's dashboard: %d", got)
	}
	if got := dashboard(t, after, newCookie); got != http.StatusOK {
		t.Errorf("the new session answers %d", got)
	}
	// Restarting with the same password logs nobody out.
	if err := after.stop(); err != nil {
		t.Fatal(err)
	}
	again := start(t, map[string]string{"DATA_DIR": dir, "ADMIN_PASSWORD": newPW})
	if got := dashboard(t, again, newCookie); got != http.StatusOK {
		t.Errorf("after a restart with the same password the session answers %d", got)
	}
}

var bannerPassword = regexp.MustCompile(`Password, generated for this run \(set ADMIN_PASSWORD to choose one\): (\S+)`)

// A generated admin password is printed in the start-up banner and
// nowhere else: no log line (which log collectors keep and ship) holds it.
func TestGeneratedPasswordIsNotLogged(t *testing.T) {
	t.Parallel()
	app := start(t, map[string]string{})
	// A failed login: a WARN line, as close to the password as logs get.
	resp, err := noRedirects.PostForm(app.URL+"/admin/login", url.Values{"password": {"not the password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := app.stop(); err != nil {
		t.Fatal(err)
	}
	out := app.Logs.String()
	m := bannerPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generated password in the banner:\n%s", out)
	}
	password := m[1]
	logLines := 0
	for line := range strings.Lines(out) {
		if !strings.HasPrefix(line, "time=") {
			continue
		}
		logLines++
		if strings.Contains(line, password) {
			t.Errorf("the generated password is in a log line: %s", line)
		}
	}
	if logLines == 0 || !strings.Contains(out, "ADMIN_PASSWORD is not set") {
		t.Errorf("the log does not say that a password was generated:\n%s", out)
	}
}

// The demo clock's forms carry a one-time token: the "advance one day"
// form sent twenty times at once (a double click, a resubmitted tab) moves
// the clock one day, and a form that is not ours moves nothing.
func TestClockFormSentTwentyTimesMovesOnce(t *testing.T) {
	t.Parallel()
	const password = "clock presser password"
	app := start(t, map[string]string{"ADMIN_PASSWORD": password})
	b := pagetest.NewBrowser(t)
	b.Follow(b.Post(app.URL+"/admin/login", url.Values{"password": {password}}).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	page := b.Get(app.URL + "/admin").Expect(http.StatusOK)
	if _, ok := page.TestID("clock-offset"); ok {
		t.Fatal("the clock is not at real time to begin with")
	}
	b.Post(app.URL+"/admin/clock/advance", url.Values{"by": {"day"}}).Expect(http.StatusSeeOther)
	if offset, ok := b.Get(app.URL + "/admin").Expect(http.StatusOK).TestID("clock-offset"); ok {
		t.Fatalf("a form without a token moved the clock: %q", offset)
	}

	var wg sync.WaitGroup
	for range 20 {
		req := page.Submit("by", "day", nil)
		wg.Go(func() {
			resp, err := b.Client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("advance answered %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	offset, _ := b.Get(app.URL + "/admin").Expect(http.StatusOK).TestID("clock-offset")
	if offset != "24 hours ahead of real time" {
		t.Errorf("after 20 presses of one form the clock is %q, want one day ahead", offset)
	}
}

// A move of the demo clock says what it did and comes back to where the
// presenter was, without the last action's word: pressed on a mandate's
// page that still says "Refunded …", the page comes back at its billing,
// saying the month moved and one payment was tried, and not "Refunded".
// The clock's buttons keep their places: "Back to real time" is there
// (disabled) before the first move.
func TestClockMoveSaysWhatItDidAndKeepsItsPlace(t *testing.T) {
	t.Parallel()
	const password = "clock presser password"
	app := start(t, map[string]string{"ADMIN_PASSWORD": password})
	b := pagetest.NewBrowser(t)
	b.Do(sandboxApproval(b, app.URL, "stripe").Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)
	b.Follow(b.Post(app.URL+"/admin/login", url.Values{"password": {password}}).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	list := b.Get(app.URL + "/admin").Expect(http.StatusOK)
	if list.TestIDAttr("reset-clock", "disabled") == "" && !strings.Contains(list.Body, `data-testid="reset-clock" disabled`) {
		t.Errorf("at real time, \"Back to real time\" is not there disabled")
	}
	if href := list.TestIDAttr("sandbox-link", "href"); href != "/sandbox/" {
		t.Errorf("the dashboard links to the sandbox at %q", href)
	}
	id := list.TestIDAttr("mandate-row", "data-id")
	if id == "" {
		id = regexp.MustCompile(`/admin/mandates/(md_[a-z0-9]+)`).FindStringSubmatch(list.Body)[1]
	}
	// Wait for period 1 to be paid, so the month's move finds period 2 due.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.Get(app.URL+"/admin/mandates/"+id).Expect(http.StatusOK).Text(), "period 2") {
		if time.Now().After(deadline) {
			t.Fatal("period 1 was not paid within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	page := b.Get(app.URL + "/admin/mandates/" + id + "?refund=1").Expect(http.StatusOK)
	ret := page.Submit("", "/admin/clock/advance", nil)
	moved := b.Do(ret).Expect(http.StatusSeeOther)
	loc := moved.Location()
	if !strings.HasSuffix(loc, "#billing") || strings.Contains(loc, "refund=") || !strings.Contains(loc, "moved=1") {
		t.Fatalf("after the move sent to %s, want the mandate's billing, with the move's word and without the refund's", loc)
	}
	after := b.Follow(moved).Expect(http.StatusOK)
	if flash, _ := after.TestID("flash"); !strings.HasPrefix(flash, "The clock moved one month, to ") ||
		!strings.HasSuffix(flash, ": 1 payment fell due and was tried.") {
		t.Errorf("after the move the page says %q", flash)
	}
	if strings.Contains(after.Body, `data-testid="reset-clock" disabled`) {
		t.Error("ahead of real time, \"Back to real time\" is disabled")
	}
}
