package simkit

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Indented must write exactly what json.Indent writes for what
// json.Marshal writes.
func TestIndentedIsJSONIndent(t *testing.T) {
	values := []any{
		nil, true, 12, -1.5e-7, "", "plain", `quote " backslash \ tab 	 newline
 brace { bracket [ colon : comma ,`, "ünïcödé ☃ \u2028",
		[]any{}, map[string]any{}, []any{[]any{}, map[string]any{}},
		map[string]any{"id": "pi_1", "amount": 1200, "metadata": map[string]string{}, "types": []string{"amazon_pay"},
			"nested": map[string]any{"a": []any{1, "two", nil, map[string]any{"deep": []any{}}}}, "null": nil},
	}
	for _, v := range values {
		src, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		checkIndented(t, src)
	}
}

func FuzzIndented(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":"c\"}"}],"d":{}}`, `"\\"`, `[[],[{}],""]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var compact bytes.Buffer
		if json.Compact(&compact, src) != nil {
			return
		}
		checkIndented(t, compact.Bytes())
	})
}

func checkIndented(t *testing.T, src []byte) {
	t.Helper()
	var want bytes.Buffer
	if err := json.Indent(&want, src, "", "  "); err != nil {
		t.Fatal(err)
	}
	if got := Indented(src, "  "); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("Indented(%s):\n%s\nwant:\n%s", src, got, want.Bytes())
	}
}
