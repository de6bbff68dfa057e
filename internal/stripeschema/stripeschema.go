// Package stripeschema validates what a Stripe API server answers, and the
// events it sends, against Stripe's own OpenAPI spec, for the contract
// tests of the Stripe sandbox (sandbox/stripesim), as pproschema does for
// PPRO. Only tests import it.
//
// Two specs are read, both from the Go module cache, where stripe-mock's
// releases bring them (embedded/openapi/spec3.json); the tests never reach
// the network:
//
//   - the spec of API version 2023-10-16, which stripe-go v76 pins and so
//     the app speaks, from stripe-mock [PinnedVersion], checked by its
//     SHA-256. Every answer is validated against it;
//   - Stripe's current spec, from the stripe-mock release tools/go.mod
//     requires (CI installs it as a tool). The 2023-10-16 spec predates
//     Amazon Pay: it knows no "amazon_pay" payment method type and no
//     amazon_pay hash. Whatever the older spec rejects only for that
//     (a value "amazon_pay", anything under an "amazon_pay" key) is
//     validated against the current spec instead, as a 2023-10-16
//     account sees Amazon Pay: added to its version's shapes.
//
// Stripe's spec is OpenAPI 3.0, whose `nullable: true` JSON Schema does not
// know; pb33f's libopenapi-validator (pproschema's) reports it beside
// `anyOf` as an error. The spec is therefore rewritten into OpenAPI 3.1's
// form (see [openAPI31]) and validated as JSON Schema draft 2020-12 by
// github.com/pb33f/jsonschema/v6, the engine libopenapi-validator itself
// uses. Stripe's objects are left open in its spec; here they are closed
// (see [closeObject]), so a field Stripe does not describe is an error,
// except the legacy "source" that Stripe sends and its spec omits (see
// [legacyFields]). A few rules the spec states only in its descriptions are
// checked explicitly (see [documentedRules]).
package stripeschema

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/jsonschema/v6"
	"github.com/pb33f/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Validator validates Stripe API answers and event bodies. It is safe for
// concurrent use. Obtain one with [Load].
type Validator struct {
	Pinned  *Spec // 2023-10-16
	Current *Spec // Stripe's current spec, for Amazon Pay
}

var (
	loadMu sync.Mutex
	loaded *Validator // parsing 16 MB of specs takes a while: once per test binary
)

// Load returns a Validator on the two specs in the Go module cache. When a
// spec is not there the test is skipped, or, when CI=true, failed: in CI
// every test must run, and .ci/run downloads both (the current one with
// `go -C tools install tool`, the pinned one with
// `go -C tools mod download github.com/stripe/stripe-mock@v0.183.0`, which
// leaves tools/go.mod and go.sum as they are).
func Load(t testing.TB) *Validator {
	t.Helper()
	loadMu.Lock()
	defer loadMu.Unlock()
	if loaded != nil {
		return loaded
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	current, err := currentVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := modCache()
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{PinnedVersion, current} {
		if _, err := os.Stat(specFile(cache, version)); err != nil {
			msg := fmt.Sprintf("stripeschema: Stripe's OpenAPI spec is not in the module cache: %s "+
				"(run: go -C tools mod download %s@%s)", specFile(cache, version), stripeMock, version)
			if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
				t.Fatal(msg + "; CI is set, so this test must not be skipped")
			}
			t.Skip(msg)
		}
	}
	v := &Validator{}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		v.Pinned, errs[0] = readSpec(specFile(cache, PinnedVersion), stripeMock+"@"+PinnedVersion, pinnedSHA256)
	})
	wg.Go(func() {
		v.Current, errs[1] = readSpec(specFile(cache, current), stripeMock+"@"+current, "")
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v.Pinned.APIVersion != PinnedAPIVersion {
		t.Fatalf("stripeschema: %s describes API version %s, want %s", v.Pinned.Module, v.Pinned.APIVersion, PinnedAPIVersion)
	}
	loaded = v
	return v
}

// Error is a validation failure: what was validated and every problem
// found, one line each, naming the failing location ($.outcome.risk_level)
// and the spec that rejects it.
type Error struct {
	Subject  string // e.g. "response 200 to GET /v1/charges/{charge}"
	Problems []string
}

func (e *Error) Error() string { return e.Subject + ": " + strings.Join(e.Problems, "; ") }

// Operation returns the operation of method and path (without any prefix:
// /v1/…) as "METHOD /template" from the 2023-10-16 spec, and whether the
// spec has it.
func (v *Validator) Operation(method, path string) (string, bool) {
	tmpl, _, ok := v.Pinned.find(method, path)
	if !ok {
		return method + " " + path, false
	}
	return method + " " + tmpl, true
}

// Response validates an answer (status and JSON body) to method and path
// (/v1/…) against the response schema the operation declares for the
// status (or its default, Stripe's error body), and [documentedRules].
func (v *Validator) Response(method, path string, status int, body []byte) error {
	op, _ := v.Operation(method, path)
	subject := fmt.Sprintf("response %d to %s", status, op)
	inst, err := decode(body)
	if err != nil {
		return &Error{Subject: subject, Problems: []string{"body: " + err.Error()}}
	}
	problems, err := v.validate(inst, func(s *Spec) (string, error) {
		tmpl, op, ok := s.find(method, path)
		if !ok {
			return "", fmt.Errorf("%s %s is not an operation of %s", method, path, s.Module)
		}
		ptr := responsePointer(tmpl, method, op, status)
		if ptr == "" {
			return "", fmt.Errorf("%s %s declares no response %d in %s", method, tmpl, status, s.Module)
		}
		return ptr, nil
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	problems = append(problems, documentedRules(inst)...)
	if len(problems) > 0 {
		return &Error{Subject: subject, Problems: problems}
	}
	return nil
}

// Event validates an event body: the whole against the schema "event", its
// type against the event types a webhook endpoint can be enabled for, and
// data.object against the schema its "object" names (charge,
// checkout.session, …), which "event" leaves open; then [documentedRules].
func (v *Validator) Event(body []byte) error {
	subject := "event"
	inst, err := decode(body)
	if err != nil {
		return &Error{Subject: subject, Problems: []string{"body: " + err.Error()}}
	}
	ev, _ := inst.(map[string]any)
	typ, _ := ev["type"].(string)
	if typ != "" {
		subject = "event " + typ
	}
	problems, err := v.validate(inst, func(*Spec) (string, error) { return componentPointer("event"), nil })
	if err != nil {
		problems = append(problems, err.Error())
	}
	// The schema leaves "type" a string; the types are listed where a
	// webhook endpoint chooses them. Amazon Pay's may be newer than 2023-10-16.
	if !slices.Contains(v.Pinned.eventTypes, typ) && !slices.Contains(v.Current.eventTypes, typ) {
		problems = append(problems, fmt.Sprintf("$.type: %q is not an event type of %s or %s", typ, v.Pinned.Module, v.Current.Module))
	}
	data, _ := ev["data"].(map[string]any)
	obj, _ := data["object"].(map[string]any)
	name, _ := obj["object"].(string)
	if name == "" {
		problems = append(problems, "$.data.object: not an object with an \"object\" field")
	} else {
		more, err := v.validate(obj, func(s *Spec) (string, error) {
			if !s.hasComponent(name) {
				return "", fmt.Errorf("$.data.object: %s has no schema %q", s.Module, name)
			}
			return componentPointer(name), nil
		})
		for _, p := range more {
			problems = append(problems, strings.Replace(p, "$", "$.data.object", 1))
		}
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	problems = append(problems, documentedRules(inst)...)
	if len(problems) > 0 {
		return &Error{Subject: subject, Problems: problems}
	}
	return nil
}

// validate validates inst against the schema at pointer(spec) of the
// 2023-10-16 spec, and what that spec does not know of Amazon Pay against
// the current one.
func (v *Validator) validate(inst any, pointer func(*Spec) (string, error)) ([]string, error) {
	var problems []string
	for _, pass := range []struct {
		spec *Spec
		keep func(loc []string, val any) bool
	}{
		{v.Pinned, func(loc []string, val any) bool { return !amazonPay(loc, val) }},
		{v.Current, amazonPay},
	} {
		ptr, err := pointer(pass.spec)
		if err != nil {
			return problems, err
		}
		sch, err := pass.spec.schema(ptr)
		if err != nil {
			return problems, err
		}
		verr, ok := sch.Validate(inst).(*jsonschema.ValidationError)
		if !ok {
			continue
		}
		for _, leaf := range remaining(verr, inst, pass.keep) {
			problems = append(problems, describe(leaf)+" ("+pass.spec.APIVersion+")")
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems), nil
}

// amazonPay reports whether a location of an answer is about Amazon Pay:
// under a key that starts with "amazon_pay" (amazon_pay, the account's
// amazon_pay_payments capability), or the value "amazon_pay" itself.
func amazonPay(loc []string, val any) bool {
	return val == "amazon_pay" || slices.ContainsFunc(loc, func(tok string) bool { return strings.HasPrefix(tok, "amazon_pay") })
}

// remaining returns the leaf errors of e whose location keep accepts. A
// branch of anyOf or oneOf that fails only because the value is of another
// type (a string branch of an expandable field that holds an object, the
// null branch of a nullable one) is not the branch meant and is left out;
// and if a meant branch has nothing left, the value passes.
func remaining(e *jsonschema.ValidationError, inst any, keep func([]string, any) bool) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		if extra, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
			// One error names all the extra properties of an object: keep
			// it for the ones keep accepts.
			obj := at(inst, e.InstanceLocation)
			kept := slices.DeleteFunc(slices.Clone(extra.Properties), func(p string) bool {
				loc := append(slices.Clone(e.InstanceLocation), p)
				return !keep(loc, at(obj, []string{p}))
			})
			if len(kept) == 0 {
				return nil
			}
			return []*jsonschema.ValidationError{{SchemaURL: e.SchemaURL, InstanceLocation: e.InstanceLocation,
				ErrorKind: &kind.AdditionalProperties{Properties: kept}}}
		}
		if keep(e.InstanceLocation, at(inst, e.InstanceLocation)) {
			return []*jsonschema.ValidationError{e}
		}
		return nil
	}
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		var out []*jsonschema.ValidationError
		meant := 0
		for _, branch := range e.Causes {
			if wrongType(branch, e.InstanceLocation) {
				continue
			}
			meant++
			left := remaining(branch, inst, keep)
			if len(left) == 0 {
				return nil
			}
			out = append(out, left...)
		}
		if meant == 0 && keep(e.InstanceLocation, at(inst, e.InstanceLocation)) {
			return []*jsonschema.ValidationError{e}
		}
		return out
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, remaining(c, inst, keep)...)
	}
	return out
}

// wrongType reports whether an error is, at bottom, only a type mismatch at loc.
func wrongType(e *jsonschema.ValidationError, loc []string) bool {
	if len(e.Causes) == 0 {
		_, isType := e.ErrorKind.(*kind.Type)
		return isType && slices.Equal(e.InstanceLocation, loc)
	}
	if len(e.Causes) != 1 {
		return false
	}
	return wrongType(e.Causes[0], loc)
}

// at returns the value at a location of inst, or nil.
func at(inst any, loc []string) any {
	for _, tok := range loc {
		switch x := inst.(type) {
		case map[string]any:
			inst = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			inst = x[i]
		default:
			return nil
		}
	}
	return inst
}

var printer = message.NewPrinter(language.English)

// describe is one problem line: $.a.b: what is wrong.
func describe(e *jsonschema.ValidationError) string {
	return jsonPath(e.InstanceLocation) + ": " + e.ErrorKind.LocalizedString(printer)
}

func jsonPath(loc []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		b.WriteString("." + tok)
	}
	return b.String()
}

// decode parses a JSON body as the validator needs it (numbers as json.Number).
func decode(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("empty")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("not well-formed JSON: %w", err)
	}
	return inst, nil
}

// documentedRules checks what Stripe's spec says only in its descriptions
// (the same words in both specs), wherever the object appears in a body:
//
//   - charge.outcome.risk_level: "For non-card payments, and card-based
//     payments predating the public assignment of risk levels, this field
//     will have the value `not_assessed`"; and outcome.risk_score: "For
//     non-card payments, … this field will not be present";
//   - an error's payment_method_type (error bodies, last_payment_error,
//     last_setup_error): "This field is only populated for invoice-related
//     errors", and nothing the sandbox does is about invoices.
func documentedRules(inst any) []string {
	var problems []string
	var walk func(v any, loc []string)
	walk = func(v any, loc []string) {
		switch x := v.(type) {
		case map[string]any:
			if x["object"] == "charge" {
				problems = append(problems, chargeOutcome(x, loc)...)
			}
			for k, c := range x {
				if m, ok := c.(map[string]any); ok && (k == "error" || k == "last_payment_error" || k == "last_setup_error") {
					if _, ok := m["payment_method_type"]; ok {
						problems = append(problems, jsonPath(append(slices.Clone(loc), k, "payment_method_type"))+
							": present, but Stripe fills it only for invoice-related errors")
					}
				}
				walk(c, append(slices.Clone(loc), k))
			}
		case []any:
			for i, c := range x {
				walk(c, append(slices.Clone(loc), strconv.Itoa(i)))
			}
		}
	}
	walk(inst, nil)
	slices.Sort(problems)
	return problems
}

func chargeOutcome(charge map[string]any, loc []string) []string {
	details, _ := charge["payment_method_details"].(map[string]any)
	outcome, _ := charge["outcome"].(map[string]any)
	typ, _ := details["type"].(string)
	if details == nil || outcome == nil || typ == "card" {
		return nil
	}
	var problems []string
	if level := outcome["risk_level"]; level != "not_assessed" {
		problems = append(problems, fmt.Sprintf("%s: %v, but a non-card (%s) payment's risk level is not_assessed",
			jsonPath(append(slices.Clone(loc), "outcome", "risk_level")), level, typ))
	}
	if _, ok := outcome["risk_score"]; ok {
		problems = append(problems, fmt.Sprintf("%s: present, but a non-card (%s) payment has no risk score",
			jsonPath(append(slices.Clone(loc), "outcome", "risk_score")), typ))
	}
	return problems
}

// Problems returns the problem lines of err if it is an *Error, else its text.
func Problems(err error) []string {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok {
		return e.Problems
	}
	return []string{err.Error()}
}
