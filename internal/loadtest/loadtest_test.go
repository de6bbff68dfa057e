package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseMix(t *testing.T) {
	m, err := ParseMix(" approve=8, Decline=1,cancel ")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.String(); got != "approve=8,decline=1,cancel=1" {
		t.Errorf("parsed %s", got)
	}
	for _, bad := range []string{"approve=-1", "approve=x", "=3", "approve=1,approve=2", "approve=100001"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A full deck holds the exact mix; the seed fixes the order.
func TestDealerDealsTheExactMixPerDeck(t *testing.T) {
	providers, _ := ParseMix("stripe=1,ppro=1")
	decisions, _ := ParseMix("approve=8,decline=1,cancel=1")
	deal := func(seed uint64) []flowSpec {
		d := newDealer(providers, decisions, 0.5, seed)
		var specs []flowSpec
		for range 200 {
			specs = append(specs, d.deal())
		}
		return specs
	}
	specs := deal(1)
	counts := map[Case]int{}
	for i, s := range specs {
		counts[s.Case]++
		if s.N != i+1 {
			t.Fatalf("flow %d numbered %d", i+1, s.N)
		}
		if s.PayNow && s.Case.Provider != ProviderPPRO {
			t.Fatalf("a %s flow pays now", s.Case.Provider)
		}
	}
	for c, want := range map[Case]int{
		{ProviderStripe, DecisionApprove}: 80, {ProviderStripe, DecisionDecline}: 10, {ProviderStripe, DecisionCancel}: 10,
		{ProviderPPRO, DecisionApprove}: 80, {ProviderPPRO, DecisionDecline}: 10, {ProviderPPRO, DecisionCancel}: 10,
	} {
		if counts[c] != want {
			t.Errorf("%s dealt %d times, want %d", c, counts[c], want)
		}
	}
	if !slices.Equal(specs, deal(1)) {
		t.Error("the same seed dealt another sequence")
	}
	if slices.Equal(specs, deal(2)) {
		t.Error("another seed dealt the same sequence")
	}
}

func TestStatsAreNearestRank(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	s := stats("x", samples)
	if s.Count != 100 || s.P50 != 50*time.Millisecond || s.P95 != 95*time.Millisecond || s.P99 != 99*time.Millisecond || s.Max != 100*time.Millisecond {
		t.Errorf("stats = %+v", s)
	}
	if one := stats("x", samples[:1]); one.P50 != 100*time.Millisecond || one.P99 != one.Max {
		t.Errorf("one sample: %+v", one)
	}
}

// PPRO may ask for a POST redirect: the storefront answers 200 with a form
// a script would submit, and the driver presses its button instead.
func TestPostRedirectFormIsSubmitted(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /create-checkout-session", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><form id="provider-redirect" method="post" action="/sandbox/ppro/authenticate/agr_1" data-autosubmit><button type="submit">Continue to PPRO</button></form>`))
	})
	mux.HandleFunc("POST /sandbox/ppro/authenticate/agr_1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><form method="post"><button name="decision" value="approve">Approve</button></form>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	origin, _ := url.Parse(srv.URL)
	rec := newCollector(1)
	b, err := newBrowser(srv.Client().Transport, origin, nil, 5*time.Second, "test", rec)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/create-checkout-session", strings.NewReader(""))
	created, err := b.do(StepCreate, req, http.StatusSeeOther, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	approval, err := providerPage(context.Background(), b, created)
	if err != nil {
		t.Fatal(err)
	}
	if approval.url.Path != "/sandbox/ppro/authenticate/agr_1" || approval.byTestID("x") != nil {
		t.Errorf("landed on %s", approval.url)
	}
	if f, err := approval.formWith("approve button", control("decision", "approve")); err != nil || f.values().Get("decision") != "approve" {
		t.Errorf("approval form: %v, %v", f, err)
	}
	if len(rec.steps[StepProviderPage]) != 1 {
		t.Errorf("provider page timed %d times", len(rec.steps[StepProviderPage]))
	}
}

// -url takes a comma-separated list of roots; each entry is checked as a
// single -url is, the loopback refusal included.
func TestParseURLs(t *testing.T) {
	urls, err := ParseURLs(" http://localhost:8081/, http://127.0.0.1:8082,http://[::1]:8083", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range urls {
		got = append(got, u.String())
	}
	if want := []string{"http://localhost:8081", "http://127.0.0.1:8082", "http://[::1]:8083"}; !slices.Equal(got, want) {
		t.Errorf("parsed %q, want %q", got, want)
	}
	for list, want := range map[string]string{
		"http://localhost:8081,http://example.com:8080": "not loopback",
		"http://localhost:8081,":                        "entry 2",
		"":                                              "entry 1",
		"http://localhost:8081,http://localhost:8081/":  "given twice",
		"http://localhost:8081,http://localhost:8082/x": "root",
	} {
		if _, err := ParseURLs(list, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", list, err, want)
		}
	}
	if _, err := ParseURLs("http://localhost:8081,http://example.com:8080", true); err != nil {
		t.Errorf("a remote entry with allowRemote: %v", err)
	}
}

// Flows go round-robin over the instances in dealing order, so each gets
// an equal share (within one) whatever the concurrency.
func TestFlowsGoRoundRobinToInstances(t *testing.T) {
	for _, instances := range []int{1, 2, 3} {
		counts := make([]int, instances)
		var order []int
		for n := 1; n <= 10; n++ {
			i := instanceFor(n, instances)
			counts[i]++
			order = append(order, i)
		}
		for i, c := range counts {
			if c < 10/instances || c > 10/instances+1 {
				t.Errorf("%d instances: instance %d got %d of 10 flows", instances, i, c)
			}
		}
		if instances == 3 && !slices.Equal(order, []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0}) {
			t.Errorf("3 instances: order %v", order)
		}
	}
}
