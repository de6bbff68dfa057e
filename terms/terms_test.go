package terms

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"example.com/storefront/payments"
)

// published pins every released version. A published text is immutable:
// if this test fails because a file changed, restore it and add a new
// version instead.
var published = map[string]string{
	"v1": "bcbdbcb6cae539d397886ac099e5ebbcc265ed14050fe6f10fdad3c8b1aa5e58",
	"v2": "e35d0e4342d8aa19e42a4d59094caf7227830a3e4e82bfdd7bccded3b361e855",
	"v3": "15c74b9b3c9737055373e787839aafd78f910b6de785c5f11eb8694763d7d573",
}

func TestPublishedVersionsAreImmutable(t *testing.T) {
	files, err := fs.Glob(versions, "versions/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(published) {
		t.Errorf("%d versions embedded, %d pinned: pin every new version here", len(files), len(published))
	}
	for version, want := range published {
		raw, err := Template(version)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("terms %s changed: sha256 %s, pinned %s", version, got, want)
		}
	}
	if _, ok := published[Current]; !ok {
		t.Errorf("Current = %q is not pinned", Current)
	}
}

var plan = payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}

func TestRenderFillsAndCoversTheFourPoints(t *testing.T) {
	doc, err := Render(Current, "Northwind Coffee", "support@m.example", plan)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc.Text, "{{") {
		t.Fatalf("unfilled placeholder in:\n%s", doc.Text)
	}
	sum := sha256.Sum256([]byte(doc.Text))
	if doc.SHA256 != hex.EncodeToString(sum[:]) {
		t.Error("SHA256 is not the digest of Text")
	}
	// The Stripe guide asks the terms to cover: permission to initiate
	// payments, frequency and timing, how the amount is set, cancellation.
	var headings []string
	for _, b := range doc.Blocks {
		if b.Kind == Heading {
			headings = append(headings, b.Text)
		}
	}
	for _, want := range []string{"Your permission", "How often and when", "How the amount is set", "Cancelling"} {
		if !slices.Contains(headings, want) {
			t.Errorf("no %q section; headings %q", want, headings)
		}
	}
	for _, want := range []string{"Northwind Coffee", "12.00 USD per month", "every month (monthly)", "initiate payments"} {
		if !strings.Contains(doc.Text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if got, want := doc.Authorization, "I authorise Northwind Coffee to charge 12.00 USD every month for Coffee Club to the payment method I approve on the payment provider's page, as set out in these terms, until I cancel."; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	for _, b := range doc.Blocks {
		if strings.Contains(b.Text, "I authorise") {
			t.Error("the authorisation sentence is shown by the checkbox, not in the blocks")
		}
	}
	// How to cancel, said where the shopper reads the terms (from v2): their
	// subscription's own page, and the merchant's address.
	for _, want := range []string{"subscription's own page", "writing to support@m.example", "revoke this permission from your Amazon Pay account"} {
		if !strings.Contains(doc.Text, want) {
			t.Errorf("cancelling section lacks %q", want)
		}
	}
}

// Consents recorded under each version keep verifying: the text rebuilt for
// the default merchant and plan has the SHA-256 those consents stored.
func TestRenderedVersionsKeepTheirHashes(t *testing.T) {
	def := payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}
	for version, want := range map[string]string{
		"v1": "013c55f3d36fe6bdf3bab695d7f9cb2a92fe46fa848961d0796df465096cad15", // the contact is unused before v2
		"v2": "180f374818dacf22ace7bcdb6b1c0c6b5e555c422c2f1cb2ad80a3b20bbdef79",
		"v3": "3756e2a12aa23a07267910d8faf3301514661b7fcc6538839f5f295ce5948921",
	} {
		doc, err := Render(version, "Northwind Coffee Roasters", "support@northwind-coffee-roasters.example", def)
		if err != nil {
			t.Fatal(err)
		}
		if doc.SHA256 != want || doc.Version != version {
			t.Errorf("%s rendered to %s, want %s", version, doc.SHA256, want)
		}
	}
}

func TestRenderDependsOnPlan(t *testing.T) {
	a, err := Render(Current, "M", "support@m.example", plan)
	if err != nil {
		t.Fatal(err)
	}
	yearly := plan
	yearly.Interval = payments.Year
	b, err := Render(Current, "M", "support@m.example", yearly)
	if err != nil {
		t.Fatal(err)
	}
	if a.SHA256 == b.SHA256 {
		t.Error("a different plan gave the same terms hash")
	}
	if !strings.Contains(b.Text, "every year (yearly)") {
		t.Error("yearly plan not described as yearly")
	}
}

func TestUnknownVersion(t *testing.T) {
	for _, v := range []string{"v0", "../terms", ""} {
		if _, err := Render(v, "M", "support@m.example", plan); err == nil {
			t.Errorf("Render(%q) succeeded", v)
		}
	}
}

func TestParse(t *testing.T) {
	blocks, auth := parse("# Title\n\nline one\nline two\n\n- a\n- b\n\n## Sub\ntext\n> I agree.\n")
	if auth != "I agree." {
		t.Errorf("authorization = %q", auth)
	}
	want := []Block{
		{Kind: Heading, Level: 1, Text: "Title"},
		{Kind: Paragraph, Text: "line one line two"},
		{Kind: List, Items: []string{"a", "b"}},
		{Kind: Heading, Level: 2, Text: "Sub"},
		{Kind: Paragraph, Text: "text"},
	}
	if len(blocks) != len(want) {
		t.Fatalf("got %d blocks %+v, want %d", len(blocks), blocks, len(want))
	}
	for i := range want {
		g, w := blocks[i], want[i]
		if g.Kind != w.Kind || g.Level != w.Level || g.Text != w.Text || strings.Join(g.Items, "|") != strings.Join(w.Items, "|") {
			t.Errorf("block %d = %+v, want %+v", i, g, w)
		}
	}
}

// From v3 the terms say what the shopper now gets: the link to their page
// in every email, and what a price change does to a permission held to an
// exact amount (PPRO's EXACT agreements, which cannot be changed).
func TestCurrentTermsSayWhatAPriceChangeDoes(t *testing.T) {
	doc, err := Render(Current, "M", "support@m.example", plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"at least 14 days before the first payment at the new price, and you may cancel before then",
		"A payment due before that date is taken at the price before the change",
		"your subscription then ends before the first payment at the new price",
		"in every email we send you about your subscription",
	} {
		if !strings.Contains(doc.Text, want) {
			t.Errorf("the terms lack %q", want)
		}
	}
}
