package countries

import "testing"

func TestList(t *testing.T) {
	if got := len(ByName()); got != 249 {
		t.Errorf("%d countries, want the 249 of ISO 3166-1", got)
	}
	for code, want := range map[string]string{"US": "United States", "DE": "Germany", "GB": "United Kingdom"} {
		if got, ok := Name(code); !ok || got != want {
			t.Errorf("Name(%s) = %q, %v", code, got, ok)
		}
	}
	for _, bad := range []string{"", "us", "XX", "USA", "UK"} {
		if _, ok := Name(bad); ok {
			t.Errorf("Name(%q) accepted", bad)
		}
	}
	list := ByName()
	for i := 1; i < len(list); i++ {
		if list[i-1].Name > list[i].Name {
			t.Fatalf("not sorted: %q before %q", list[i-1].Name, list[i].Name)
		}
	}
}
