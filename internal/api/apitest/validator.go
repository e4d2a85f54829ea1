// Package apitest checks real HTTP responses against hubdesk's OpenAPI
// document, so the document cannot drift from what the handlers send.
//
// OpenAPI 3.1 schema objects are JSON Schema 2020-12, so the document is
// loaded whole as one schema resource and each response schema is compiled
// by its JSON pointer; "$ref"s into #/components/schemas resolve inside it.
//
// Tests of package api must be external (package api_test): this package
// imports api for the embedded document.
package apitest

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hubdesk/hubdesk/internal/api"
)

// docURL names the document inside the compiler; nothing is fetched.
const docURL = "https://hubdesk.invalid/openapi.json"

var methods = []string{"get", "put", "post", "patch", "delete", "head", "options", "trace"}

// Validator validates responses against one OpenAPI document. It is safe
// for parallel tests.
type Validator struct {
	doc map[string]any

	mu       sync.Mutex // the compiler and cache are not safe for concurrent use
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

// NewValidator returns a validator for the API's embedded openapi.json.
func NewValidator(t testing.TB) *Validator {
	t.Helper()
	return NewValidatorFor(t, api.OpenAPIDocument())
}

// NewValidatorFor returns a validator for the given OpenAPI 3.1 document.
// It fails the test unless every request and response schema in the
// document compiles, so a broken "$ref" is caught even on a path no test
// calls.
func NewValidatorFor(t testing.TB, document []byte) *Validator {
	t.Helper()
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		t.Fatalf("openapi: parse document: %v", err)
	}
	doc, ok := parsed.(map[string]any)
	if !ok {
		t.Fatalf("openapi: document is not a JSON object")
	}
	if version, _ := doc["openapi"].(string); !strings.HasPrefix(version, "3.1.") {
		t.Fatalf("openapi: version %q, want 3.1.x (whose schemas are JSON Schema 2020-12)", version)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatalf("openapi: load document: %v", err)
	}
	v := &Validator{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	for _, ptr := range v.schemaPointers(t) {
		if _, err := v.schema(ptr); err != nil {
			t.Errorf("openapi: %v", err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return v
}

// Operations lists the document's operations as ServeMux patterns
// ("GET /api/v1/customers"), sorted, so a test can compare them with the
// routes it registers.
func (v *Validator) Operations() []string {
	var ops []string
	paths, _ := v.doc["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range methods {
			if _, ok := item[m]; ok {
				ops = append(ops, strings.ToUpper(m)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// HasOperation reports whether the document describes method and path
// (an OpenAPI path template, which is also the ServeMux wildcard syntax).
func (v *Validator) HasOperation(method, path string) bool {
	return slices.Contains(v.Operations(), strings.ToUpper(method)+" "+path)
}

// Validate checks that the operation documents status and that body
// matches the JSON schema documented for it (or is empty when the response
// has no content).
func (v *Validator) Validate(t testing.TB, method, path string, status int, body []byte) {
	t.Helper()
	_, resPtr, err := v.response(method, path, status)
	if err != nil {
		t.Errorf("openapi: %v", err)
		return
	}
	if _, ok := v.at(resPtr + "/content/application~1json/schema"); !ok {
		if len(bytes.TrimSpace(body)) != 0 {
			t.Errorf("openapi: %s %s %d: no JSON content documented, but the body is %q", method, path, status, body)
		}
		return
	}
	v.validateJSON(t, fmt.Sprintf("%s %s %d", method, path, status), resPtr+"/content/application~1json/schema", body)
}

// ValidateResponse is Validate for a received response, found by its
// ServeMux pattern ("GET /api/v1/customers/{id}"); it also checks the
// Content-Type and the documented headers.
func (v *Validator) ValidateResponse(t testing.TB, pattern string, res *http.Response, body []byte) {
	t.Helper()
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		t.Errorf("openapi: pattern %q has no method", pattern)
		return
	}
	v.Validate(t, method, path, res.StatusCode, body)
	res2, resPtr, err := v.response(method, path, res.StatusCode)
	if err != nil {
		return // already reported by Validate
	}
	what := fmt.Sprintf("%s %d", pattern, res.StatusCode)
	if content, _ := res2["content"].(map[string]any); content != nil {
		mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
		if _, ok := content[mt]; !ok {
			t.Errorf("openapi: %s: Content-Type %q is not documented", what, res.Header.Get("Content-Type"))
		}
	}
	headers, _ := res2["headers"].(map[string]any)
	for name := range headers {
		hPtr := v.resolve(resPtr + "/headers/" + escape(name))
		h, _ := v.at(hPtr)
		hm, _ := h.(map[string]any)
		value := res.Header.Get(name)
		if value == "" {
			if required, _ := hm["required"].(bool); required {
				t.Errorf("openapi: %s: required header %s is missing", what, name)
			}
			continue
		}
		if _, ok := hm["schema"]; ok {
			v.validateValue(t, what+" header "+name, hPtr+"/schema", value)
		}
	}
}

func (v *Validator) validateJSON(t testing.TB, what, ptr string, body []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("openapi: %s: body is not JSON: %v\n%s", what, err, body)
		return
	}
	v.validateValue(t, what, ptr, inst)
}

func (v *Validator) validateValue(t testing.TB, what, ptr string, inst any) {
	t.Helper()
	sch, err := v.schema(ptr)
	if err != nil {
		t.Errorf("openapi: %s: %v", what, err)
		return
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("openapi: %s: does not match the document:\n%v\nvalue: %v", what, err, inst)
	}
}

// response finds the response object documented for status, following a
// "$ref" into #/components/responses, and returns it with its pointer.
func (v *Validator) response(method, path string, status int) (map[string]any, string, error) {
	opPtr := "/paths/" + escape(path) + "/" + strings.ToLower(method)
	if _, ok := v.at(opPtr); !ok {
		return nil, "", fmt.Errorf("%s %s is not in the document", method, path)
	}
	code := strconv.Itoa(status)
	for _, key := range []string{code, code[:1] + "XX", "default"} {
		ptr := opPtr + "/responses/" + key
		if _, ok := v.at(ptr); ok {
			ptr = v.resolve(ptr)
			res, _ := v.at(ptr)
			m, _ := res.(map[string]any)
			return m, ptr, nil
		}
	}
	return nil, "", fmt.Errorf("%s %s: status %d is not documented", method, path, status)
}

// resolve follows local "$ref"s of non-schema objects (responses, headers,
// parameters), which OpenAPI allows but JSON Schema does not see.
func (v *Validator) resolve(ptr string) string {
	for range 10 {
		node, _ := v.at(ptr)
		m, _ := node.(map[string]any)
		ref, _ := m["$ref"].(string)
		if !strings.HasPrefix(ref, "#/") {
			return ptr
		}
		ptr = ref[1:]
	}
	return ptr
}

// at returns the value at a JSON pointer of the document.
func (v *Validator) at(ptr string) (any, bool) {
	var node any = v.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = m[unescape(tok)]; !ok {
			return nil, false
		}
	}
	return node, true
}

// schema compiles (once) the schema at a pointer of the document.
func (v *Validator) schema(ptr string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if sch, ok := v.schemas[ptr]; ok {
		return sch, nil
	}
	sch, err := v.compiler.Compile(docURL + "#" + ptr)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", ptr, err)
	}
	v.schemas[ptr] = sch
	return sch, nil
}

// schemaPointers lists every schema the document's operations use: request
// bodies, parameters, response bodies and headers, plus all of
// components.schemas.
func (v *Validator) schemaPointers(t testing.TB) []string {
	t.Helper()
	var ptrs []string
	add := func(ptr string) {
		if _, ok := v.at(ptr); ok {
			ptrs = append(ptrs, ptr)
		}
	}
	components, _ := v.doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	for name := range schemas {
		add("/components/schemas/" + escape(name))
	}
	paths, _ := v.doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Errorf("openapi: document has no paths")
	}
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			opPtr := "/paths/" + escape(path) + "/" + m
			params, _ := op["parameters"].([]any)
			for i := range params {
				add(v.resolve(fmt.Sprintf("%s/parameters/%d", opPtr, i)) + "/schema")
			}
			if body, ok := op["requestBody"].(map[string]any); ok {
				content, _ := body["content"].(map[string]any)
				for mt := range content {
					add(opPtr + "/requestBody/content/" + escape(mt) + "/schema")
				}
			}
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("openapi: %s %s documents no responses", strings.ToUpper(m), path)
			}
			for code := range responses {
				resPtr := v.resolve(opPtr + "/responses/" + code)
				res, ok := v.at(resPtr)
				if !ok {
					t.Errorf("openapi: %s %s %s: unresolvable response", strings.ToUpper(m), path, code)
					continue
				}
				content, _ := res.(map[string]any)["content"].(map[string]any)
				for mt := range content {
					add(resPtr + "/content/" + escape(mt) + "/schema")
				}
				headers, _ := res.(map[string]any)["headers"].(map[string]any)
				for name := range headers {
					add(v.resolve(resPtr+"/headers/"+escape(name)) + "/schema")
				}
			}
		}
	}
	slices.Sort(ptrs)
	return slices.Compact(ptrs)
}

// escape and unescape encode a JSON pointer token (RFC 6901).
func escape(tok string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
}

func unescape(tok string) string {
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
}
