package stripesim

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Stripe's API takes application/x-www-form-urlencoded parameters in which
// hashes nest as a[b][c]=v and arrays are indexed as a[0]=v (or a[]=v).
// parseStripeParams turns such a form into a tree, and validate checks the
// tree against what an endpoint accepts, so that unknown parameters are
// refused exactly as Stripe refuses them.

// paramNode is a leaf (a value) or a hash/array (children).
type paramNode struct {
	value    string
	children map[string]*paramNode // nil for a leaf
	// appended: the children came from a[]=…; such an array cannot also
	// take explicit keys (a[1]=…, a[k]=…), which Stripe's Rack parser
	// refuses as a hash sent as an array.
	appended bool
}

func (n *paramNode) isLeaf() bool { return n.children == nil }

// parseStripeParams builds the parameter tree. A key given twice keeps its
// last value, as Stripe's (Rack-style) parser does.
func parseStripeParams(values url.Values) (*paramNode, *stripeError) {
	root := &paramNode{children: map[string]*paramNode{}}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		segs, ok := splitParamKey(key)
		if !ok {
			return nil, errParamInvalid(key, "Invalid parameter name: %s", key)
		}
		for _, v := range values[key] {
			if err := root.insert(segs, v); err != nil {
				return nil, err
			}
		}
	}
	return root, nil
}

// splitParamKey splits "a[b][0]" into ["a", "b", "0"]; "[]" becomes "".
func splitParamKey(key string) ([]string, bool) {
	i := strings.IndexByte(key, '[')
	if i < 0 {
		return []string{key}, key != ""
	}
	if i == 0 {
		return nil, false
	}
	segs, rest := []string{key[:i]}, key[i:]
	for rest != "" {
		end := strings.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 {
			return nil, false
		}
		segs = append(segs, rest[1:end])
		rest = rest[end+1:]
	}
	return segs, true
}

func (n *paramNode) insert(segs []string, value string) *stripeError {
	cur := n
	for i, seg := range segs {
		if cur.isLeaf() {
			return errParamInvalid(paramPath(segs[:i]), "Invalid value for %s: it was sent both as a value and as a hash or array.", paramPath(segs[:i]))
		}
		if (seg == "") != cur.appended && len(cur.children) > 0 {
			return errParamInvalid(paramPath(segs[:i]), "Invalid array %s: it was sent both with [] and with explicit keys.", paramPath(segs[:i]))
		}
		if seg == "" { // a[]=x appends
			cur.appended = true
			seg = strconv.Itoa(len(cur.children))
		}
		child, ok := cur.children[seg]
		last := i == len(segs)-1
		switch {
		case !ok && last:
			cur.children[seg] = &paramNode{value: value}
			return nil
		case !ok:
			child = &paramNode{children: map[string]*paramNode{}}
			cur.children[seg] = child
		case last && child.isLeaf():
			child.value = value
			return nil
		case last:
			return errParamInvalid(paramPath(segs), "Invalid value for %s: it was sent both as a value and as a hash or array.", paramPath(segs))
		}
		cur = child
	}
	return nil
}

// paramPath writes segments the way Stripe names parameters in errors:
// "setup_intent_data[metadata][mandate_id]".
func paramPath(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(segs[0])
	for _, s := range segs[1:] {
		b.WriteString("[" + s + "]")
	}
	return b.String()
}

func childPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "[" + name + "]"
}

// paramSpec describes what an endpoint accepts.
type paramSpec struct {
	kind   paramKind
	fields map[string]paramSpec // for paramHash
}

type paramKind int

const (
	paramString    paramKind = iota
	paramList                // an array of strings
	paramHash                // a hash with a fixed set of fields
	paramStringMap           // a hash of free-form string values, like metadata
	paramRange               // a value, or a hash of gt, gte, lt and lte (a list's created filter)
)

var (
	specString    = paramSpec{kind: paramString}
	specList      = paramSpec{kind: paramList}
	specStringMap = paramSpec{kind: paramStringMap}
	specRange     = paramSpec{kind: paramRange, fields: map[string]paramSpec{
		"gt": specString, "gte": specString, "lt": specString, "lte": specString,
	}}
)

func specHash(fields map[string]paramSpec) paramSpec {
	return paramSpec{kind: paramHash, fields: fields}
}

// validate checks n against spec. An empty value where a hash or array is
// expected is Stripe's way to unset it, and is accepted.
func (n *paramNode) validate(spec paramSpec, path string) *stripeError {
	if n.isLeaf() {
		if spec.kind == paramString || spec.kind == paramRange || n.value == "" {
			return nil
		}
		if spec.kind == paramList {
			return errParamInvalid(path, "Invalid array: %s must be an array, not a string.", path)
		}
		return errParamInvalid(path, "Invalid hash: %s must be a hash, not a string.", path)
	}
	switch spec.kind {
	case paramString:
		return errParamInvalid(path, "Invalid string: %s must be a string, not a hash or array.", path)
	case paramList:
		for _, k := range sortedKeys(n.children) {
			if _, err := strconv.ParseUint(k, 10, 31); err != nil {
				return errParamInvalid(path, "Invalid array: %s must be an array, not a hash.", path)
			}
			if !n.children[k].isLeaf() {
				p := childPath(path, k)
				return errParamInvalid(p, "Invalid string: %s must be a string, not a hash or array.", p)
			}
		}
	case paramStringMap:
		for _, k := range sortedKeys(n.children) {
			if !n.children[k].isLeaf() {
				p := childPath(path, k)
				return errParamInvalid(p, "Invalid string: %s must be a string, not a hash or array.", p)
			}
		}
	case paramHash, paramRange:
		for _, k := range sortedKeys(n.children) {
			p := childPath(path, k)
			field, ok := spec.fields[k]
			if !ok {
				return errParamUnknown(p)
			}
			if err := n.children[k].validate(field, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lookup returns the node at path (nil if absent).
func (n *paramNode) lookup(path ...string) *paramNode {
	cur := n
	for _, seg := range path {
		if cur == nil || cur.isLeaf() {
			return nil
		}
		cur = cur.children[seg]
	}
	return cur
}

// str returns a string parameter and whether it was sent at all (an empty
// value counts as sent).
func (n *paramNode) str(path ...string) (string, bool) {
	c := n.lookup(path...)
	if c == nil || !c.isLeaf() {
		return "", false
	}
	return c.value, true
}

// optional returns a string parameter, with "" (Stripe's "unset") as nil.
func (n *paramNode) optional(path ...string) *string {
	v, ok := n.str(path...)
	if !ok || v == "" {
		return nil
	}
	return &v
}

// list returns an array parameter in index order, and whether it was sent.
func (n *paramNode) list(path ...string) ([]string, bool) {
	c := n.lookup(path...)
	if c == nil {
		return nil, false
	}
	if c.isLeaf() { // "" unsets
		return nil, true
	}
	idx := make([]int, 0, len(c.children))
	byIdx := map[int]string{}
	for k, v := range c.children {
		i, _ := strconv.Atoi(k) // validated
		idx = append(idx, i)
		byIdx[i] = v.value
	}
	slices.Sort(idx)
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = byIdx[i]
	}
	return out, true
}

// stringMap returns a hash of strings such as metadata (never nil).
func (n *paramNode) stringMap(path ...string) map[string]string {
	out := map[string]string{}
	c := n.lookup(path...)
	if c == nil || c.isLeaf() {
		return out
	}
	for k, v := range c.children {
		out[k] = v.value
	}
	return out
}

// listParamName names element i of an array parameter, as Stripe does in
// errors: "payment_method_types[1]".
func listParamName(name string, i int) string {
	return fmt.Sprintf("%s[%d]", name, i)
}

// Metadata limits documented by Stripe: up to 50 keys, keys up to 40
// characters, values up to 500 characters.
const (
	metadataMaxKeys     = 50
	metadataMaxKeyLen   = 40
	metadataMaxValueLen = 500
)

func validateMetadata(md map[string]string, param string) *stripeError {
	if len(md) > metadataMaxKeys {
		return errParamInvalid(param, "Invalid %s: metadata can have up to %d keys, but %d were sent.", param, metadataMaxKeys, len(md))
	}
	for _, k := range sortedKeys(md) {
		p := childPath(param, k)
		if utf8.RuneCountInString(k) > metadataMaxKeyLen {
			return errParamInvalid(p, "Invalid %s: metadata keys can be up to %d characters long.", param, metadataMaxKeyLen)
		}
		if utf8.RuneCountInString(md[k]) > metadataMaxValueLen {
			return errParamInvalid(p, "Invalid %s: metadata values can be up to %d characters long.", p, metadataMaxValueLen)
		}
	}
	return nil
}

// validateMaxLen refuses strings longer than Stripe's documented maximum.
func validateMaxLen(v *string, param string, max int) *stripeError {
	if v != nil && utf8.RuneCountInString(*v) > max {
		return errParamInvalid(param, "Invalid %s: must be at most %d characters.", param, max)
	}
	return nil
}

// validateURL accepts absolute http(s) URLs, as Stripe requires for
// redirect URLs.
func validateURL(v, param string) *stripeError {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 5000 {
		return errURLInvalid(param)
	}
	return nil
}
