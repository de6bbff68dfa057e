package stripeschema

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture returns stripe-mock's fixture of a resource (charge, refund, …):
// the objects stripe-mock answers with, made from the same spec, in
// embedded/openapi/fixtures3.json beside the 2023-10-16 spec.
func fixture(t *testing.T, v *Validator, resource string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(v.Pinned.file), "fixtures3.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Resources map[string]map[string]any }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	obj, ok := f.Resources[resource]
	if !ok {
		t.Fatalf("fixtures3.json has no %s", resource)
	}
	return obj
}

// edit sets (or, with nil, deletes) a field at a dotted path of obj.
func edit(t *testing.T, obj map[string]any, path string, value any) map[string]any {
	t.Helper()
	keys := strings.Split(path, ".")
	m := obj
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	if value == nil {
		delete(m, keys[len(keys)-1])
	} else {
		m[keys[len(keys)-1]] = value
	}
	return obj
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// amazonPayCharge is stripe-mock's card charge made an Amazon Pay one as
// Stripe describes non-card payments.
func amazonPayCharge(t *testing.T, v *Validator) map[string]any {
	ch := fixture(t, v, "charge")
	ch["payment_method_details"] = map[string]any{"type": "amazon_pay", "amazon_pay": map[string]any{}}
	ch["outcome"] = outcome("not_assessed")
	return ch
}

// outcome is a charge's outcome as Stripe's Payments guide shows an
// authorized one (stripe-mock's fixture has none).
func outcome(riskLevel string) map[string]any {
	return map[string]any{"network_status": "approved_by_network", "reason": nil, "risk_level": riskLevel,
		"seller_message": "Payment complete.", "type": "authorized"}
}

func TestConformingAnswersPass(t *testing.T) {
	t.Parallel()
	v := Load(t)
	tests := []struct {
		name, method, path string
		body               any
	}{
		{"card charge", "GET", "/v1/charges/ch_1", fixture(t, v, "charge")},
		{"Amazon Pay charge", "GET", "/v1/charges/ch_1", amazonPayCharge(t, v)},
		{"refund", "POST", "/v1/refunds", fixture(t, v, "refund")},
		{"account", "GET", "/v1/account", fixture(t, v, "account")},
		{"payment intent", "POST", "/v1/payment_intents", fixture(t, v, "payment_intent")},
		{"Amazon Pay payment method", "GET", "/v1/payment_methods/pm_1",
			edit(t, edit(t, edit(t, fixture(t, v, "payment_method"), "card", nil), "type", "amazon_pay"), "amazon_pay", map[string]any{})},
		{"mandate", "GET", "/v1/mandates/mandate_1", fixture(t, v, "mandate")},
		{"charge with the legacy source", "GET", "/v1/charges/ch_1", edit(t, amazonPayCharge(t, v), "source", json.RawMessage("null"))},
		{"account with Amazon Pay's capability", "GET", "/v1/account",
			edit(t, fixture(t, v, "account"), "capabilities.amazon_pay_payments", "active")},
		{"error", "GET", "/v1/charges/ch_nope", map[string]any{"error": map[string]any{
			"type": "invalid_request_error", "code": "resource_missing", "param": "id", "message": "No such charge: 'ch_nope'"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusOK
			if strings.HasSuffix(tt.path, "nope") {
				status = http.StatusNotFound
			}
			if err := v.Response(tt.method, tt.path, status, encode(t, tt.body)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestViolationsAreFound(t *testing.T) {
	t.Parallel()
	v := Load(t)
	tests := []struct {
		name, method, path string
		status             int
		body               any
		want               string
	}{{
		name: "card charge without risk_score", method: "GET", path: "/v1/charges/ch_1", status: 200,
		body: edit(t, fixture(t, v, "charge"), "outcome", outcome("normal")),
		want: "", // absent is fine, null is not:
	}, {
		name: "risk_score null", method: "GET", path: "/v1/charges/ch_1", status: 200,
		body: func() any {
			ch := edit(t, fixture(t, v, "charge"), "outcome", outcome("normal"))
			ch["outcome"].(map[string]any)["risk_score"] = json.RawMessage("null")
			return ch
		}(),
		want: "$.outcome.risk_score: got null, want integer (2023-10-16)",
	}, {
		name: "Amazon Pay charge assessed", method: "GET", path: "/v1/charges/ch_1", status: 200,
		body: edit(t, amazonPayCharge(t, v), "outcome.risk_level", "normal"),
		want: "$.outcome.risk_level: normal, but a non-card (amazon_pay) payment's risk level is not_assessed",
	}, {
		name: "Amazon Pay charge scored", method: "GET", path: "/v1/charges/ch_1", status: 200,
		body: edit(t, amazonPayCharge(t, v), "outcome.risk_score", 5),
		want: "$.outcome.risk_score: present, but a non-card (amazon_pay) payment has no risk score",
	}, {
		name: "Amazon Pay hash against the current spec", method: "GET", path: "/v1/charges/ch_1", status: 200,
		body: edit(t, amazonPayCharge(t, v), "payment_method_details.amazon_pay.transaction_id", 7),
		want: "$.payment_method_details.amazon_pay.transaction_id: got number, want null or string (" + v.Current.APIVersion + ")",
	}, {
		name: "card refund without its type", method: "POST", path: "/v1/refunds", status: 200,
		body: edit(t, fixture(t, v, "refund"), "destination_details.card.type", nil),
		want: "$.destination_details.card: missing property 'type' (2023-10-16)",
	}, {
		name: "account without branding", method: "GET", path: "/v1/account", status: 200,
		body: edit(t, fixture(t, v, "account"), "settings.branding", nil),
		want: "$.settings: missing property 'branding' (2023-10-16)",
	}, {
		name: "decline with payment_method_type", method: "POST", path: "/v1/payment_intents", status: 402,
		body: map[string]any{"error": map[string]any{"type": "card_error", "code": "card_declined", "message": "Your card was declined.",
			"payment_method_type": "card"}},
		want: "$.error.payment_method_type: present, but Stripe fills it only for invoice-related errors",
	}, {
		name: "payment intent with a bogus status", method: "GET", path: "/v1/payment_intents/pi_1", status: 200,
		body: edit(t, fixture(t, v, "payment_intent"), "status", "paid"),
		want: "$.status: value must be one of",
	}, {
		// 2023-10-16 knows no amazon_pay either; the current spec lets it
		// pass (TestConformingAnswersPass), another value fails both.
		name: "payment method of an unknown type", method: "GET", path: "/v1/payment_methods/pm_1", status: 200,
		body: edit(t, edit(t, fixture(t, v, "payment_method"), "card", nil), "type", "bogus_pay"),
		want: "$.type: value must be one of",
	}, {
		name: "a field Stripe does not send", method: "GET", path: "/v1/charges/ch_1", status: 200,
		body: edit(t, fixture(t, v, "charge"), "outcome", edit(t, outcome("normal"), "risk_grade", "A")),
		want: "$.outcome: additional properties 'risk_grade' not allowed (2023-10-16)",
	}, {
		name: "a field Amazon Pay's hash does not have", method: "GET", path: "/v1/charges/ch_1", status: 200,
		body: edit(t, amazonPayCharge(t, v), "payment_method_details.amazon_pay.buyer_id", "B1"),
		want: "$.payment_method_details.amazon_pay: additional properties 'buyer_id' not allowed (" + v.Current.APIVersion + ")",
	}, {
		name: "undeclared path", method: "GET", path: "/v1/nothing_here", status: 200,
		body: map[string]any{},
		want: "GET /v1/nothing_here is not an operation of " + v.Pinned.Module,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Response(tt.method, tt.path, tt.status, encode(t, tt.body))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestEvent(t *testing.T) {
	t.Parallel()
	v := Load(t)
	event := func(obj map[string]any) []byte {
		ev := fixture(t, v, "event")
		ev["type"] = "charge.succeeded"
		ev["data"] = map[string]any{"object": obj}
		return encode(t, ev)
	}
	if err := v.Event(event(amazonPayCharge(t, v))); err != nil {
		t.Fatalf("a conforming charge.succeeded: %v", err)
	}
	err := v.Event(event(edit(t, amazonPayCharge(t, v), "amount", "12.00")))
	if want := "$.data.object.amount: got string, want integer (2023-10-16)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one mentioning %q", err, want)
	}
	ev := fixture(t, v, "event")
	ev["type"], ev["data"] = "charge.paid", map[string]any{"object": amazonPayCharge(t, v)}
	err = v.Event(encode(t, ev))
	if want := `$.type: "charge.paid" is not an event type`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one mentioning %q", err, want)
	}
	err = v.Event(event(map[string]any{"object": "no_such_thing"}))
	if want := `has no schema "no_such_thing"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one mentioning %q", err, want)
	}
}

func TestOpenAPI31(t *testing.T) {
	t.Parallel()
	null := map[string]any{"type": "null"}
	tests := []struct {
		name    string
		in, out any
	}{
		{"type", map[string]any{"type": "string", "nullable": true}, map[string]any{"type": []any{"string", "null"}}},
		{"enum", map[string]any{"type": "string", "enum": []any{"a"}, "nullable": true},
			map[string]any{"type": []any{"string", "null"}, "enum": []any{"a", nil}}},
		{"anyOf", map[string]any{"anyOf": []any{map[string]any{"$ref": "#/x"}}, "nullable": true},
			map[string]any{"anyOf": []any{map[string]any{"$ref": "#/x"}, null}}},
		{"ref alone", map[string]any{"$ref": "#/x", "nullable": true},
			map[string]any{"anyOf": []any{map[string]any{"$ref": "#/x"}, null}}},
		{"not nullable", map[string]any{"type": "string", "nullable": false}, map[string]any{"type": "string"}},
		{"a property named nullable", map[string]any{"properties": map[string]any{"nullable": map[string]any{"type": "boolean"}}},
			map[string]any{"properties": map[string]any{"nullable": map[string]any{"type": "boolean"}}, "additionalProperties": false}},
		{"nested", map[string]any{"properties": map[string]any{"a": map[string]any{"type": "integer", "nullable": true}}},
			map[string]any{"properties": map[string]any{"a": map[string]any{"type": []any{"integer", "null"}}}, "additionalProperties": false}},
		{"a map stays open", map[string]any{"additionalProperties": map[string]any{"type": "string"}},
			map[string]any{"additionalProperties": map[string]any{"type": "string"}}},
		{"a property named properties", map[string]any{"properties": map[string]any{"properties": map[string]any{"type": "string"}}},
			map[string]any{"properties": map[string]any{"properties": map[string]any{"type": "string"}}, "additionalProperties": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := openAPI31(tt.in); !reflect.DeepEqual(got, tt.out) {
				t.Errorf("openAPI31 = %#v, want %#v", got, tt.out)
			}
		})
	}
}
