package loadtest

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"
)

// Options configures a run. Each field has a flag of the same name in
// cmd/loadtest, and validation errors name those flags, because that is
// where a person reading them set the value.
type Options struct {
	// URL is the storefront's root, for example http://localhost:8080, or
	// a comma-separated list of roots, one per instance: flows go to them
	// in turn (see ParseURLs).
	URL string
	// Flows is how many flows to run in all; 0 runs until Duration ends.
	Flows int
	// Concurrency is how many flows run at once, each its own browser.
	Concurrency int
	// Duration stops the dealing of new flows once it has passed; flows in
	// flight finish. 0 means no time limit (then Flows must be set).
	Duration time.Duration
	// Providers and Decisions are the weighted mixes flows are dealt from.
	Providers Mix
	Decisions Mix
	// PayNow is the fraction (0..1) of PPRO flows that tick "pay the first
	// period now".
	PayNow float64
	// AllowRemote permits a URL whose host is not loopback. Without it the
	// driver refuses, so that a typo cannot load someone else's server.
	AllowRemote bool
	// Seed makes the dealt mix (and pay-now choices) reproducible.
	Seed uint64
	// RequestTimeout bounds each HTTP request; 0 means 30 s.
	RequestTimeout time.Duration
	// Progress, when positive, prints a progress line that often.
	Progress time.Duration
	// Expectations overrides, for the cases it names, what a provider and
	// decision should lead to (DefaultExpectations for the others). A test
	// sets a wrong one to prove that a mismatch is reported.
	Expectations map[Case]Expectation
}

// defaultRequestTimeout is generous: a slow answer is a latency figure to
// report, not an error, unless it is absurd.
const defaultRequestTimeout = 30 * time.Second

// maxDeck bounds the deck of dealt cases (the product of the two mixes'
// total weights), so that huge weights cannot exhaust memory.
const maxDeck = 1_000_000

// Validate checks the options before any request is sent.
func (o Options) Validate() error {
	if _, err := ParseURLs(o.URL, o.AllowRemote); err != nil {
		return err
	}
	var errs []error
	if o.Flows < 0 {
		errs = append(errs, fmt.Errorf("-flows: must be 0 (until -duration ends) or more, got %d", o.Flows))
	}
	if o.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("-concurrency: must be at least 1, got %d", o.Concurrency))
	}
	if o.Duration < 0 {
		errs = append(errs, fmt.Errorf("-duration: must not be negative, got %s", o.Duration))
	}
	if o.Flows == 0 && o.Duration == 0 {
		errs = append(errs, errors.New("-flows 0 runs until -duration ends, but -duration is 0: set one of them"))
	}
	if o.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("-timeout: must not be negative, got %s", o.RequestTimeout))
	}
	if err := o.Providers.check("-providers", knownProviders()); err != nil {
		errs = append(errs, err)
	}
	if err := o.Decisions.check("-decisions", knownDecisions()); err != nil {
		errs = append(errs, err)
	}
	if math.IsNaN(o.PayNow) || o.PayNow < 0 || o.PayNow > 1 {
		errs = append(errs, fmt.Errorf("-pay-now: must be a fraction from 0 to 1, got %v", o.PayNow))
	}
	if len(errs) == 0 {
		if n := o.Providers.total() * o.Decisions.total(); n > maxDeck {
			errs = append(errs, fmt.Errorf("-providers and -decisions: their weights make a deck of %d flows (at most %d); use smaller weights, e.g. 8,1,1 rather than 800,100,100", n, maxDeck))
		}
	}
	for c, e := range o.Expectations {
		if e.Status == "" {
			errs = append(errs, fmt.Errorf("expectation for %s has no status", c))
		}
	}
	return errors.Join(errs...)
}

// ParseURLs reads -url: one storefront root, or several separated by
// commas (instances of one storefront behind no load balancer), each
// checked as checkURL does. A root given twice is refused: it would
// silently double that instance's share of the flows.
func ParseURLs(list string, allowRemote bool) ([]*url.URL, error) {
	var urls []*url.URL
	seen := map[string]bool{}
	for i, raw := range strings.Split(list, ",") {
		raw = strings.TrimSuffix(strings.TrimSpace(raw), "/")
		if raw == "" {
			return nil, fmt.Errorf("-url: entry %d of %q is empty", i+1, list)
		}
		if err := checkURL(raw, allowRemote); err != nil {
			return nil, err
		}
		if seen[raw] {
			return nil, fmt.Errorf("-url: %q is given twice", raw)
		}
		seen[raw] = true
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("-url: %w", err)
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// instanceFor is the instance (an index into the -url list) that flow n
// (1-based, in dealing order) goes to: round-robin, so each instance gets
// an equal share whatever the concurrency, and the same flows for a seed.
func instanceFor(n, instances int) int {
	return (n - 1) % instances
}

// checkURL accepts an absolute http(s) URL of a storefront's root, on a
// loopback host unless allowRemote.
func checkURL(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url: %q is not an absolute http or https URL", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("-url: %q must be the storefront's root, like http://localhost:8080 (no path, query or user)", raw)
	}
	if !allowRemote && !isLoopback(u.Hostname()) {
		return fmt.Errorf("-url: host %q is not loopback (localhost, 127.0.0.0/8 or ::1); "+
			"the driver refuses other hosts so that a typo cannot load someone else's server: pass -allow-remote if you mean it", u.Hostname())
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback address. It
// does not resolve names: "localhost" is trusted by name, anything else
// must be a literal address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withDefaults fills what a zero value leaves unset.
func (o Options) withDefaults() Options {
	if o.RequestTimeout == 0 {
		o.RequestTimeout = defaultRequestTimeout
	}
	merged := DefaultExpectations()
	for c, e := range o.Expectations {
		merged[c] = e
	}
	o.Expectations = merged
	return o
}
