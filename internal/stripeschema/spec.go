package stripeschema

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/pb33f/jsonschema/v6"
)

// stripeMock is the module whose releases embed Stripe's OpenAPI spec, at
// embedded/openapi/spec3.json.
const stripeMock = "github.com/stripe/stripe-mock"

// The release of stripe-mock that embeds the spec of API version 2023-10-16,
// the version stripe-go v76 pins (the last one before 2024-04-10), and the
// SHA-256 of that spec3.json, so that another file in its place is noticed.
// tools/go.mod cannot hold it beside the current release (one module, one
// version), so CI downloads it with `go mod download` (see [Load]).
const (
	PinnedVersion    = "v0.183.0"
	PinnedAPIVersion = "2023-10-16"
	pinnedSHA256     = "13c0f174ebef7ac4d5a453ac94be55f76732c9384a37888f30e97acfc5784ce2"
)

// Spec is one of Stripe's OpenAPI specs, converted for JSON Schema
// validation (see [openAPI31]), with its compiled schemas.
type Spec struct {
	APIVersion string // info.version, e.g. 2023-10-16
	Module     string // module@version it was read from
	file       string

	doc        map[string]any
	routes     []route
	eventTypes []string // see eventTypes

	mu       sync.Mutex // the compiler and its cache are not safe for concurrent use
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema // by JSON pointer
}

// route is one path of the spec: its template split at "/" and its item.
type route struct {
	template string
	segments []string
	item     map[string]any
}

// modCache returns the Go module cache, as `go env GOMODCACHE` reports it.
func modCache() (string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("stripeschema: go env GOMODCACHE: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("stripeschema: go env GOMODCACHE is empty")
	}
	return dir, nil
}

// specFile is where the module cache holds spec3.json of stripe-mock at version.
func specFile(cache, version string) string {
	return filepath.Join(cache, filepath.FromSlash(stripeMock)+"@"+version, "embedded", "openapi", "spec3.json")
}

// currentVersion reads the version of stripe-mock that tools/go.mod
// requires: the release CI installs, whose spec is Stripe's current one.
func currentVersion(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "tools", "go.mod"))
	if err != nil {
		return "", fmt.Errorf("stripeschema: reading tools/go.mod: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if i := slices.Index(f, stripeMock); i >= 0 && i+1 < len(f) && strings.HasPrefix(f[i+1], "v") {
			return f[i+1], nil
		}
	}
	return "", fmt.Errorf("stripeschema: tools/go.mod requires no %s", stripeMock)
}

// moduleRoot walks up from the working directory to the nearest go.mod.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("stripeschema: finding the module root: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("stripeschema: no go.mod in %s or any parent directory", wd)
		}
		dir = parent
	}
}

// readSpec reads and converts a spec3.json. wantSHA256, if not empty, is
// the file's expected digest.
func readSpec(file, module, wantSHA256 string) (*Spec, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("stripeschema: reading %s: %w", file, err)
	}
	if wantSHA256 != "" {
		sum := sha256.Sum256(raw)
		if got := hex.EncodeToString(sum[:]); got != wantSHA256 {
			return nil, fmt.Errorf("stripeschema: %s has SHA-256 %s, want %s", file, got, wantSHA256)
		}
	}
	// UseNumber: the validator needs json.Number to tell integers apart.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("stripeschema: parsing %s: %w", file, err)
	}
	info, _ := doc["info"].(map[string]any)
	version, _ := info["version"].(string)
	paths, _ := doc["paths"].(map[string]any)
	if version == "" || len(paths) == 0 {
		return nil, fmt.Errorf("stripeschema: %s has no info.version or no paths", file)
	}
	openAPI31(doc)
	if err := allowLegacyFields(doc); err != nil {
		return nil, fmt.Errorf("stripeschema: %s: %w", file, err)
	}
	s := &Spec{
		APIVersion: version,
		Module:     module,
		file:       file,
		doc:        doc,
		eventTypes: eventTypes(doc),
		compiler:   jsonschema.NewCompiler(),
		compiled:   map[string]*jsonschema.Schema{},
	}
	if len(s.eventTypes) == 0 {
		return nil, fmt.Errorf("stripeschema: %s lists no event types (enabled_events of POST /v1/webhook_endpoints)", file)
	}
	for tmpl, item := range paths {
		m, _ := item.(map[string]any)
		s.routes = append(s.routes, route{template: tmpl, segments: strings.Split(tmpl, "/"), item: m})
	}
	// Without a $schema the document's schemas are read as draft 2020-12,
	// the dialect of OpenAPI 3.1, into which openAPI31 turned them.
	if err := s.compiler.AddResource(s.url(), doc); err != nil {
		return nil, fmt.Errorf("stripeschema: adding %s: %w", file, err)
	}
	return s, nil
}

func (s *Spec) url() string { return "https://stripe.test/spec-" + s.APIVersion + ".json" }

// openAPI31 rewrites OpenAPI 3.0's `nullable: true`, which JSON Schema does
// not know, into the form OpenAPI 3.1 uses, in place: a "type" gains
// "null", an "enum" gains null, an "anyOf" or "oneOf" gains a
// {"type":"null"} branch, and any other schema becomes the anyOf of itself
// and null. pb33f's validator reports `nullable` beside `anyOf` (Stripe's
// form for every nullable expandable field) as an error, and validators
// of JSON Schema ignore it, which would reject every null.
func openAPI31(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			x[k] = openAPI31(c)
		}
		closeObject(x)
		n, ok := x["nullable"].(bool)
		if !ok {
			return x
		}
		delete(x, "nullable")
		if !n {
			return x
		}
		if e, ok := x["enum"].([]any); ok && !slices.Contains(e, nil) {
			x["enum"] = append(e, nil)
		}
		switch {
		case x["type"] != nil:
			if t, ok := x["type"].(string); ok {
				x["type"] = []any{t, "null"}
			}
		case x["anyOf"] != nil:
			x["anyOf"] = append(x["anyOf"].([]any), map[string]any{"type": "null"})
		case x["oneOf"] != nil:
			x["oneOf"] = append(x["oneOf"].([]any), map[string]any{"type": "null"})
		default:
			return map[string]any{"anyOf": []any{x, map[string]any{"type": "null"}}}
		}
		return x
	case []any:
		for i, c := range x {
			x[i] = openAPI31(c)
		}
	}
	return v
}

// closeObject forbids the properties an object schema does not describe.
// Stripe's spec lists every field of its objects but leaves them open
// (no additionalProperties), so without this a field that Stripe never
// sends, or a misspelt one, would pass. Only plain object schemas are
// closed: those with "properties", no "additionalProperties" of their own
// and no composition beside them. A schema of a request's form parameters
// is closed too, which does not matter: only answers are validated.
func closeObject(x map[string]any) {
	props, ok := x["properties"].(map[string]any)
	if !ok || x["additionalProperties"] != nil || x["anyOf"] != nil || x["oneOf"] != nil || x["allOf"] != nil {
		return
	}
	for _, p := range props {
		if _, ok := p.(map[string]any); !ok {
			// Not a schema's properties but the schema of a property
			// called "properties", inside a properties map.
			return
		}
	}
	x["additionalProperties"] = false
}

// legacyFields are fields Stripe sends but its public spec leaves out, by
// object: stripe-go v76, generated from Stripe's own fuller description of
// 2023-10-16, has Charge.Source and PaymentIntent.Source ("a legacy field
// that will be removed in the future"), null for payments made with a
// PaymentMethod, as the sandbox's are.
var legacyFields = map[string][]string{
	"charge":         {"source"},
	"payment_intent": {"source"},
}

// allowLegacyFields lets the objects closed by closeObject carry
// legacyFields, with any value.
func allowLegacyFields(doc map[string]any) error {
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	for name, fields := range legacyFields {
		schema, _ := schemas[name].(map[string]any)
		props, ok := schema["properties"].(map[string]any)
		if !ok {
			return fmt.Errorf("no schema %q with properties", name)
		}
		for _, f := range fields {
			if _, ok := props[f]; !ok {
				props[f] = map[string]any{}
			}
		}
	}
	return nil
}

// find returns the path template and the operation for method and path
// (such as GET /v1/charges/ch_1), preferring the template with the most
// literal segments (/v1/checkout/sessions/{session}/expire over a
// parameter in its place).
func (s *Spec) find(method, path string) (string, map[string]any, bool) {
	segs := strings.Split(path, "/")
	var best *route
	bestLiterals := -1
	for i := range s.routes {
		r := &s.routes[i]
		if len(r.segments) != len(segs) || r.item[strings.ToLower(method)] == nil {
			continue
		}
		literals, ok := 0, true
		for j, seg := range r.segments {
			switch {
			case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
				ok = ok && segs[j] != ""
			case seg == segs[j]:
				literals++
			default:
				ok = false
			}
		}
		if ok && literals > bestLiterals {
			best, bestLiterals = r, literals
		}
	}
	if best == nil {
		return "", nil, false
	}
	op, _ := best.item[strings.ToLower(method)].(map[string]any)
	return best.template, op, true
}

// responsePointer is the JSON pointer to the JSON schema of the response
// that op declares for status (the code, else "default"), or "".
func responsePointer(template, method string, op map[string]any, status int) string {
	responses, _ := op["responses"].(map[string]any)
	code := fmt.Sprint(status)
	if responses[code] == nil {
		code = "default"
		if responses[code] == nil {
			return ""
		}
	}
	return "/" + strings.Join([]string{"paths", escape(template), strings.ToLower(method), "responses", code,
		"content", escape("application/json"), "schema"}, "/")
}

// escape escapes a JSON pointer token.
func escape(token string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(token)
}

// schema compiles (once) the schema at a JSON pointer into the document.
func (s *Spec) schema(pointer string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.compiled[pointer]; ok {
		return sch, nil
	}
	// The pointer goes into a URL fragment: percent-encode what a fragment
	// cannot hold as is ({ and } of path templates).
	frag := strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D").Replace(pointer)
	sch, err := s.compiler.Compile(s.url() + "#" + frag)
	if err != nil {
		return nil, fmt.Errorf("stripeschema: compiling %s of %s: %w", pointer, s.Module, err)
	}
	s.compiled[pointer] = sch
	return sch, nil
}

// eventTypes returns the event types a webhook endpoint can be enabled
// for: the enum of enabled_events of POST /v1/webhook_endpoints, the
// spec's only list of them.
func eventTypes(doc map[string]any) []string {
	var v any = doc
	for _, k := range []string{"paths", "/v1/webhook_endpoints", "post", "requestBody", "content",
		"application/x-www-form-urlencoded", "schema", "properties", "enabled_events", "items", "enum"} {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	enum, _ := v.([]any)
	var types []string
	for _, e := range enum {
		if t, ok := e.(string); ok && t != "*" {
			types = append(types, t)
		}
	}
	return types
}

// hasComponent reports whether the spec has components.schemas[name].
func (s *Spec) hasComponent(name string) bool {
	c, _ := s.doc["components"].(map[string]any)
	schemas, _ := c["schemas"].(map[string]any)
	return schemas[name] != nil
}

// componentPointer is the JSON pointer to components.schemas[name].
func componentPointer(name string) string { return "/components/schemas/" + escape(name) }
