// Package pproschema validates traffic to and from PPRO's Global API v1 against PPRO's own
// OpenAPI 3.1 documents, for contract tests of the PPRO client (payments/ppro) and the PPRO
// sandbox (sandbox/).
//
// The documents are read at test time from the shared reference directory (see [Dir]); they are
// not copied into this repository. Validation is done by github.com/pb33f/libopenapi-validator
// (v0.16.2, on github.com/pb33f/libopenapi v0.41.8), which supports OpenAPI 3.1. A few things
// the library cannot or does not check for these documents are checked here explicitly; each is
// described where it is done:
//
//   - ppro-payment-agreements.json lists a second (QA) server whose URL ends in
//     /v1/payment-agreements. The library strips server base paths before matching, so with that
//     entry no operation is found for POST /v1/payment-agreements. [Load] drops server entries
//     that carry a path before building the validator.
//   - Most 200 responses are declared with the media range */* rather than application/json.
//     The library matches */* for an application/json response and validates the body against
//     the declared schema; for any other Content-Type it would skip the body silently, so
//     [Validator.Response] first requires a JSON Content-Type on every non-empty body (PPRO
//     answers JSON only).
//   - Error statuses other than the few declared ones (409, 504) are not declared at all.
//     PPRO documents one error body for them (ExceptionResponseBody), so [Validator.Response]
//     validates undeclared 4xx/5xx bodies against that component, and additionally requires
//     the fields PPRO's error-representation page shows (see [Validator.Response]).
//   - The library does not validate webhooks; [Validator.Webhook] validates the body against
//     the request-body schema of the matching webhook in ppro-gpg-webhooks.json itself.
//   - Examples inside the documents are not used: one of them has the typo SUCCEDED as an
//     agreement history status, which the schema's enum rejects. This package follows the
//     schema.
package pproschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// EnvDir names the environment variable that overrides where the documents are read from.
const EnvDir = "PPRO_OPENAPI_DIR"

// The document files read from [Dir], and the API path prefix each one covers.
const (
	agreementsFile  = "ppro-payment-agreements.json"
	chargesFile     = "ppro-payment-charges.json"
	instrumentsFile = "ppro-payment-instruments.json"
	webhooksFile    = "ppro-gpg-webhooks.json"
)

// The OpenAPI version of all four documents ("openapi": "3.1.0"), for schema validation.
const openAPIVersion = 3.1

// apiDocuments are the REST documents. The agreements document comes first: its
// components.schemas.ExceptionResponseBody (identical in the charges document; the instruments
// document has none) is the schema for undeclared error responses.
var apiDocuments = []struct{ file, prefix string }{
	{agreementsFile, "/v1/payment-agreements"},
	{chargesFile, "/v1/payment-charges"},
	{instrumentsFile, "/v1/payment-instruments"},
}

// Dir returns the directory holding PPRO's OpenAPI documents: $PPRO_OPENAPI_DIR if set, else
// ../shared/reference/ppro-openapi relative to the module root, which is found by walking up
// from the working directory to the nearest go.mod. It does not check that the directory exists.
func Dir() (string, error) {
	if dir := os.Getenv(EnvDir); dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("pproschema: finding the module root: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "reference", "ppro-openapi"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("pproschema: no go.mod in %s or any parent directory; set %s", wd, EnvDir)
		}
		dir = parent
	}
}

// Validator validates PPRO API requests, responses and webhook bodies. It is safe for
// concurrent use. Obtain one with [Load].
type Validator struct {
	*documents
	prefix string
}

// documents is the state shared by every Validator built from one directory.
type documents struct {
	// mu serialises validation: the library compiles and caches schemas
	// lazily, and races (go test -race saw it) when two requests are
	// validated at once, as they are behind a Proxy.
	mu        sync.Mutex
	dir       string
	apis      []*apiDocument
	exception *base.Schema            // components.schemas.ExceptionResponseBody (agreements document)
	webhooks  map[string]*base.Schema // webhook request-body schema by CloudEvents type
	schemas   schema_validation.SchemaValidator
}

// apiDocument is one parsed REST document and the library validator built from it.
type apiDocument struct {
	file   string
	prefix string // API path prefix this document covers, e.g. /v1/payment-charges
	model  *v3.Document
	v      validator.Validator
	opts   *config.ValidationOptions // for paths.FindPath
}

var (
	loadMu sync.Mutex
	loaded = map[string]*documents{} // by directory; parsing all documents takes a while
)

// Load returns a Validator for the documents in [Dir]. If that directory does not exist the test
// is skipped, or, when CI=true, failed: in CI every test must run. A document that fails to
// load, parse or build is a fatal test error. The documents are parsed once per test binary.
func Load(t testing.TB) *Validator {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		msg := fmt.Sprintf("pproschema: PPRO OpenAPI documents not found: directory %s does not exist "+
			"(set %s to the directory holding %s)", dir, EnvDir, agreementsFile)
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal(msg + "; CI is set, so this test must not be skipped")
		}
		t.Skip(msg)
	}
	loadMu.Lock()
	defer loadMu.Unlock()
	docs, ok := loaded[dir]
	if !ok {
		docs, err = loadDocuments(dir)
		if err != nil {
			t.Fatal(err)
		}
		loaded[dir] = docs
	}
	return &Validator{documents: docs}
}

func loadDocuments(dir string) (*documents, error) {
	d := &documents{
		dir:      dir,
		apis:     make([]*apiDocument, len(apiDocuments)),
		webhooks: map[string]*base.Schema{},
		schemas:  schema_validation.NewSchemaValidator(),
	}
	// Building a validator compiles every schema of its document up front (a few hundred
	// milliseconds each), so the documents are built concurrently.
	errs := make([]error, len(apiDocuments)+1)
	var wg sync.WaitGroup
	for i, ad := range apiDocuments {
		wg.Go(func() {
			model, err := buildModel(dir, ad.file)
			if err != nil {
				errs[i] = err
				return
			}
			dropPathServers(model)
			opts := options()
			d.apis[i] = &apiDocument{
				file:   ad.file,
				prefix: ad.prefix,
				model:  model,
				v:      validator.NewValidatorFromV3Model(model, opts...),
				opts:   config.NewValidationOptions(opts...),
			}
		})
	}
	wg.Go(func() {
		wh, err := buildModel(dir, webhooksFile)
		if err == nil {
			err = d.indexWebhooks(wh)
		}
		errs[len(apiDocuments)] = err
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d.exception = componentSchema(d.apis[0].model, "ExceptionResponseBody")
	if d.exception == nil {
		return nil, fmt.Errorf("pproschema: %s has no components.schemas.ExceptionResponseBody", d.apis[0].file)
	}
	return d, nil
}

// options are the library options used for every REST document.
func options() []config.Option {
	return []config.Option{
		// Check "format" (date-time, int32, int64, …) as an assertion, not an annotation.
		config.WithFormatAssertions(),
		// A body on an operation that declares none (a GET, say) is a client bug.
		config.WithRejectUndeclaredRequestBody(),
	}
}

func buildModel(dir, file string) (*v3.Document, error) {
	path := filepath.Join(dir, file)
	spec, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pproschema: reading %s: %w", file, err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("pproschema: parsing %s: %w", path, err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("pproschema: building the OpenAPI model of %s: %w", path, err)
	}
	if m == nil {
		return nil, fmt.Errorf("pproschema: building the OpenAPI model of %s: no model", path)
	}
	return &m.Model, nil
}

// dropPathServers removes server entries whose URL has a path. The only one in PPRO's documents
// is the QA server https://api.qa.eu.ppro.com/v1/payment-agreements of the agreements document;
// the library strips a matching server base path from request paths, so keeping it makes
// /v1/payment-agreements (stripped to "") match no operation. Every other server is a bare host.
func dropPathServers(m *v3.Document) {
	m.Servers = slices.DeleteFunc(m.Servers, func(s *v3.Server) bool {
		u, err := url.Parse(s.URL)
		return err != nil || strings.Trim(u.Path, "/") != ""
	})
}

func componentSchema(m *v3.Document, name string) *base.Schema {
	if m.Components == nil || m.Components.Schemas == nil {
		return nil
	}
	sp, ok := m.Components.Schemas.Get(name)
	if !ok || sp == nil {
		return nil
	}
	return sp.Schema()
}

// indexWebhooks maps each webhook of ppro-gpg-webhooks.json to its CloudEvents type. The
// document does not constrain the envelope's "type" (no enum or const); the only link from a
// type to its webhook is the example of that property, e.g. "PAYMENT_AGREEMENT_ACTIVE" for the
// webhook named "Agreement Active". Each example is distinct, so it is used as the key.
func (d *documents) indexWebhooks(m *v3.Document) error {
	if m.Webhooks == nil || m.Webhooks.Len() == 0 {
		return fmt.Errorf("pproschema: %s declares no webhooks", webhooksFile)
	}
	for pair := m.Webhooks.First(); pair != nil; pair = pair.Next() {
		name, item := pair.Key(), pair.Value()
		if item == nil || item.Post == nil || item.Post.RequestBody == nil {
			return fmt.Errorf("pproschema: %s: webhook %q has no POST request body", webhooksFile, name)
		}
		mt, ok := item.Post.RequestBody.Content.Get("application/json")
		if !ok || mt.Schema == nil {
			return fmt.Errorf("pproschema: %s: webhook %q has no application/json schema", webhooksFile, name)
		}
		schema := mt.Schema.Schema()
		if schema == nil {
			return fmt.Errorf("pproschema: %s: webhook %q: schema does not resolve: %v", webhooksFile, name, mt.Schema.GetBuildError())
		}
		var typ string
		if schema.Properties != nil {
			if p, ok := schema.Properties.Get("type"); ok && p.Schema() != nil && p.Schema().Example != nil {
				typ = p.Schema().Example.Value
			}
		}
		if typ == "" {
			return fmt.Errorf("pproschema: %s: webhook %q has no example for its \"type\" property", webhooksFile, name)
		}
		if _, dup := d.webhooks[typ]; dup {
			return fmt.Errorf("pproschema: %s: two webhooks have the type %s", webhooksFile, typ)
		}
		d.webhooks[typ] = schema
	}
	return nil
}

// WithPrefix returns a Validator that strips prefix from request paths before validating them,
// for an API served under a prefix: the sandbox serves PPRO's /v1/… at /sandbox/ppro/v1/…, so
// WithPrefix("/sandbox/ppro"). A request path outside the prefix is then a validation error.
func (v *Validator) WithPrefix(prefix string) *Validator {
	return &Validator{documents: v.documents, prefix: strings.TrimSuffix(prefix, "/")}
}

// Error is a validation failure: what was validated and every problem found. Each problem
// names the failing location (a JSON path such as $.consumer.country, a header or the status)
// and the reason.
type Error struct {
	Subject  string   // e.g. "request POST /v1/payment-agreements", "response 200 to GET /v1/…"
	Problems []string // one line each
}

func (e *Error) Error() string {
	return e.Subject + ": " + strings.Join(e.Problems, "; ")
}

// Problems returns the problem lines of err if it is (or wraps) an *Error, else err's text.
func Problems(err error) []string {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return []string{err.Error()}
}

// route strips the prefix from r's path and picks the document covering the rest. It returns a
// shallow copy of r carrying the stripped path, for the library.
func (v *Validator) route(r *http.Request) (*apiDocument, *http.Request, error) {
	p := r.URL.Path
	if v.prefix != "" {
		rest, ok := strings.CutPrefix(p, v.prefix)
		if !ok || !strings.HasPrefix(rest, "/") {
			return nil, nil, fmt.Errorf("path %s is not under the prefix %s", p, v.prefix)
		}
		p = rest
	}
	for _, d := range v.apis {
		if p == d.prefix || strings.HasPrefix(p, d.prefix+"/") {
			out := r.Clone(r.Context())
			u := *r.URL
			u.Path, u.RawPath = p, ""
			out.URL = &u
			out.RequestURI = ""
			return d, out, nil
		}
	}
	var covered []string
	for _, d := range v.apis {
		covered = append(covered, d.prefix)
	}
	return nil, nil, fmt.Errorf("path %s is not covered by any PPRO document (covered: %s)", p, strings.Join(covered, ", "))
}

// Operation returns the operation r is for, as "METHOD /path/template" from the document
// (e.g. "POST /v1/payment-agreements/{agreement-id}/payment-charges"), with the prefix stripped.
// If no operation matches it returns the method and the stripped path, and false.
func (v *Validator) Operation(r *http.Request) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	d, sr, err := v.route(r)
	if err != nil {
		return r.Method + " " + r.URL.Path, false
	}
	_, tmpl, op, _ := d.find(sr)
	if op == nil {
		return sr.Method + " " + sr.URL.Path, false
	}
	return sr.Method + " " + tmpl, true
}

// find looks up the operation for a stripped request.
func (d *apiDocument) find(r *http.Request) (*v3.PathItem, string, *v3.Operation, []*liberrors.ValidationError) {
	item, errs, tmpl := paths.FindPath(r, d.model, d.opts)
	if item == nil || len(errs) > 0 {
		return item, tmpl, nil, errs
	}
	op := item.GetOperations().GetOrZero(strings.ToLower(r.Method))
	return item, tmpl, op, nil
}

// readBody reads r's body and puts an identical, unread one back, so the caller can still use it.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	if r.GetBody != nil {
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return b, err
}

// Request validates r against its operation in PPRO's documents: that the method and path
// exist, the path parameters, the header parameters the operation declares (Merchant-Id is
// required on almost every operation), the bearer security requirement (an Authorization
// header), query parameters, and the JSON body against the request-body schema (with formats
// asserted; a body on an operation that declares none is an error). Unknown JSON properties are
// allowed, as the schemas allow them. r's body is read and replaced by an unread copy.
func (v *Validator) Request(r *http.Request) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	subject := "request " + r.Method + " " + r.URL.Path
	body, err := readBody(r)
	if err != nil {
		return &Error{Subject: subject, Problems: []string{"reading the body: " + err.Error()}}
	}
	d, sr, err := v.route(r)
	if err != nil {
		return &Error{Subject: subject, Problems: []string{err.Error()}}
	}
	subject = "request " + sr.Method + " " + sr.URL.Path
	if len(body) == 0 {
		sr.Body = http.NoBody
	} else {
		sr.Body = io.NopCloser(bytes.NewReader(body))
	}
	sr.ContentLength = int64(len(body))
	if _, errs := d.v.ValidateHttpRequestSync(sr); len(errs) > 0 {
		return &Error{Subject: subject, Problems: describe(errs)}
	}
	return nil
}

// Response validates a response to r (status, header, body) against r's operation:
//
//   - A declared status (the documents declare 200 everywhere, plus 504 and, for charges, 409)
//     is validated by the library: the body against the declared schema, formats asserted.
//     Declared */* bodies are validated like application/json ones; see the package comment.
//   - Every non-empty body must have a JSON Content-Type and be well-formed JSON.
//   - An undeclared 2xx or 3xx status is an error.
//   - An undeclared 4xx or 5xx status is validated against components.schemas.
//     ExceptionResponseBody, except that a 401 may also carry exactly {"message":"Unauthorized"},
//     the body PPRO's authentication page shows.
//   - For every 4xx/5xx ExceptionResponseBody, declared or not: that schema requires nothing,
//     but PPRO's error representation ({"status":404,"failureMessage":"…","timestamp":"…"})
//     always has all three, so status, failureMessage and timestamp are required here, and
//     status must equal the HTTP status.
func (v *Validator) Response(r *http.Request, status int, header http.Header, body []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	subject := fmt.Sprintf("response %d to %s %s", status, r.Method, r.URL.Path)
	d, sr, err := v.route(r)
	if err != nil {
		return &Error{Subject: subject, Problems: []string{err.Error()}}
	}
	subject = fmt.Sprintf("response %d to %s %s", status, sr.Method, sr.URL.Path)
	_, tmpl, op, errs := d.find(sr)
	if len(errs) > 0 {
		return &Error{Subject: subject, Problems: describe(errs)}
	}
	if op == nil {
		return &Error{Subject: subject, Problems: []string{fmt.Sprintf("%s has no %s operation in %s", tmpl, sr.Method, d.file)}}
	}
	if header == nil {
		header = http.Header{}
	}

	var problems []string
	if len(body) > 0 {
		ct := header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			problems = append(problems, fmt.Sprintf("header Content-Type: %q is not JSON; PPRO answers application/json", ct))
		}
		if !json.Valid(body) {
			problems = append(problems, "body: not well-formed JSON")
			return &Error{Subject: subject, Problems: problems}
		}
	}

	declared := declaredResponse(op, status)
	switch {
	case declared != nil:
		resp := &http.Response{
			StatusCode:    status,
			Header:        header.Clone(),
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       sr,
		}
		if len(body) > 0 {
			// The body is JSON (checked above, as is its Content-Type). Label it so for the
			// library, which skips the body silently when a */* response has a non-JSON type.
			resp.Header.Set("Content-Type", "application/json")
		}
		if _, errs := d.v.ValidateHttpResponse(sr, resp); len(errs) > 0 {
			problems = append(problems, describe(errs)...)
		}
		if status >= 400 && isException(declared) {
			problems = append(problems, errorRepresentation(status, body)...)
		}
	case status >= 400:
		problems = append(problems, v.undeclaredError(status, body)...)
	default:
		problems = append(problems, fmt.Sprintf("status: %d is not declared for %s %s in %s (declared: %s)",
			status, sr.Method, tmpl, d.file, strings.Join(declaredCodes(op), ", ")))
	}
	if len(problems) > 0 {
		return &Error{Subject: subject, Problems: problems}
	}
	return nil
}

// declaredResponse returns the response the operation declares for status (exact code, then
// range such as 4XX, then default), or nil.
func declaredResponse(op *v3.Operation, status int) *v3.Response {
	if op.Responses == nil {
		return nil
	}
	if op.Responses.Codes != nil {
		if r := op.Responses.Codes.GetOrZero(strconv.Itoa(status)); r != nil {
			return r
		}
		if r := op.Responses.Codes.GetOrZero(fmt.Sprintf("%dXX", status/100)); r != nil {
			return r
		}
	}
	return op.Responses.Default
}

func declaredCodes(op *v3.Operation) []string {
	var codes []string
	if op.Responses != nil && op.Responses.Codes != nil {
		for pair := op.Responses.Codes.First(); pair != nil; pair = pair.Next() {
			codes = append(codes, pair.Key())
		}
	}
	if op.Responses != nil && op.Responses.Default != nil {
		codes = append(codes, "default")
	}
	return codes
}

// isException reports whether a declared response's JSON schema is ExceptionResponseBody.
func isException(resp *v3.Response) bool {
	if resp.Content == nil {
		return false
	}
	for pair := resp.Content.First(); pair != nil; pair = pair.Next() {
		if s := pair.Value().Schema; s != nil && strings.HasSuffix(s.GetReference(), "/ExceptionResponseBody") {
			return true
		}
	}
	return false
}

// undeclaredError validates the body of an error status the operation does not declare.
func (v *Validator) undeclaredError(status int, body []byte) []string {
	if status == http.StatusUnauthorized && isUnauthorizedBody(body) {
		return nil
	}
	var problems []string
	if _, errs := v.schemas.ValidateSchemaBytesWithVersion(v.exception, body, openAPIVersion); len(errs) > 0 {
		for _, p := range describe(errs) {
			problems = append(problems, p+" (ExceptionResponseBody)")
		}
	}
	problems = append(problems, errorRepresentation(status, body)...)
	if status == http.StatusUnauthorized && len(problems) > 0 {
		problems = append(problems, `body: a 401 may also be exactly {"message":"Unauthorized"}`)
	}
	return problems
}

func isUnauthorizedBody(body []byte) bool {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil || len(m) != 1 {
		return false
	}
	return m["message"] == "Unauthorized"
}

// errorRepresentation checks what PPRO's error-representation page shows for every error body
// beyond the ExceptionResponseBody schema (which requires nothing): status, failureMessage and
// timestamp are present, and status is the HTTP status. Types are checked by the schema.
func errorRepresentation(status int, body []byte) []string {
	var m map[string]json.RawMessage
	if len(body) == 0 {
		return []string{"body: empty; PPRO error responses carry an ExceptionResponseBody"}
	}
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return []string{"$: not a JSON object; PPRO error responses carry an ExceptionResponseBody"}
	}
	var problems []string
	for _, name := range []string{"status", "failureMessage", "timestamp"} {
		if _, ok := m[name]; !ok {
			problems = append(problems, fmt.Sprintf("$.%s: missing (PPRO's error representation has status, failureMessage and timestamp)", name))
		}
	}
	if raw, ok := m["status"]; ok {
		var got int
		if json.Unmarshal(raw, &got) == nil && got != status {
			problems = append(problems, fmt.Sprintf("$.status: %d does not match the HTTP status %d", got, status))
		}
	}
	return problems
}

// Webhook validates a webhook body (a CloudEvents 1.0.2 envelope) against the request-body
// schema of the webhook in ppro-gpg-webhooks.json whose "type" matches the body's "type". The
// library has no webhook validation, so the schema is validated with its schema validator.
// Beyond that schema (which requires nothing), the body must be a JSON object with the
// attributes CloudEvents 1.0 makes required: specversion, id, source and type. Note that the
// document's data schemas mostly omit "type": "object" (MoneyRequest, for one), so a JSON value
// of another kind where an object is expected passes; the properties of an object are checked.
func (v *Validator) Webhook(body []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	subject := "webhook"
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil || env == nil {
		return &Error{Subject: subject, Problems: []string{"$: not a JSON object"}}
	}
	var problems []string
	for _, name := range []string{"specversion", "id", "source", "type"} {
		if _, ok := env[name]; !ok {
			problems = append(problems, fmt.Sprintf("$.%s: missing; CloudEvents 1.0 requires specversion, id, source and type", name))
		}
	}
	var typ string
	if raw, ok := env["type"]; ok {
		if err := json.Unmarshal(raw, &typ); err != nil {
			problems = append(problems, "$.type: not a string")
		}
	}
	if typ != "" {
		subject = "webhook " + typ
	}
	schema, ok := v.webhooks[typ]
	if !ok {
		if typ != "" {
			problems = append(problems, fmt.Sprintf("$.type: %q is not the type of any webhook in %s (known: %s)",
				typ, webhooksFile, strings.Join(v.WebhookTypes(), ", ")))
		}
		return &Error{Subject: subject, Problems: problems}
	}
	if _, errs := v.schemas.ValidateSchemaBytesWithVersion(schema, body, openAPIVersion); len(errs) > 0 {
		problems = append(problems, describe(errs)...)
	}
	if len(problems) > 0 {
		return &Error{Subject: subject, Problems: problems}
	}
	return nil
}

// WebhookTypes returns the CloudEvents types of the webhooks in ppro-gpg-webhooks.json, sorted.
func (v *Validator) WebhookTypes() []string {
	types := make([]string, 0, len(v.webhooks))
	for t := range v.webhooks {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// describe turns library validation errors into one line per problem: the failing JSON path (or
// parameter, header, status) and the reason.
func describe(errs []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		if e == nil {
			continue
		}
		if len(e.SchemaValidationErrors) == 0 {
			line := e.Message
			if e.Reason != "" && e.Reason != e.Message {
				line += ": " + e.Reason
			}
			out = append(out, line)
			continue
		}
		for _, f := range e.SchemaValidationErrors {
			where := f.FieldPath
			switch {
			case where != "":
			case e.ParameterName != "" && e.ValidationSubType != "":
				where = e.ValidationSubType + " " + e.ParameterName // e.g. header Merchant-Id
			case e.ParameterName != "":
				where = "parameter " + e.ParameterName
			default:
				where = "$"
			}
			line := where + ": " + f.Reason
			if f.KeywordLocation != "" {
				line += " (schema " + f.KeywordLocation + ")"
			}
			out = append(out, line)
		}
	}
	return out
}
