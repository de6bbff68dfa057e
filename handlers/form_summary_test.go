package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"example.com/storefront/internal/pagetest"
)

// A form sent with mistakes comes back with a summary at the top of the
// page, before the plan (what a phone shows first), focused as it loads,
// naming each mistake (a country not in the list too) with a link to its
// field.
func TestFormErrorsAreSummedUpAtTheTop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	form := e.validForm(b)
	form.Set("email", "not an email")
	form.Set("country", "XX")
	form.Del("consent")
	page := b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusUnprocessableEntity)
	summary, ok := page.TestID("form-error")
	if !ok {
		t.Fatal("no error summary")
	}
	for id, want := range map[string]string{
		"summary-email":   "Enter an email address like name@example.com.",
		"summary-country": "Choose a country from the list.",
		"summary-consent": "Tick the box to give your permission",
	} {
		if got, _ := page.TestID(id); !strings.HasPrefix(got, want) {
			t.Errorf("%s says %q, want %q", id, got, want)
		}
	}
	if href := page.TestIDAttr("summary-country", "href"); href != "#country" {
		t.Errorf("the country's error links to %q", href)
	}
	if _, ok := page.TestID("summary-name"); ok {
		t.Errorf("the summary names a field that is right: %q", summary)
	}
	if strings.Index(page.Body, `data-testid="form-error"`) > strings.Index(page.Body, `data-testid="plan"`) {
		t.Error("the summary comes after the plan: below the fold on a phone")
	}
	if !strings.Contains(page.Body, `tabindex="-1" autofocus`) {
		t.Error("the summary is not focused as the page loads")
	}
}
