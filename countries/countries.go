// Package countries is the ISO 3166-1 alpha-2 list the storefront offers
// and validates against.
package countries

import (
	"cmp"
	"slices"
)

// Country is one ISO 3166-1 entry.
type Country struct {
	Code string // alpha-2, upper case
	Name string
}

var (
	byCode = func() map[string]string {
		m := make(map[string]string, len(all))
		for _, c := range all {
			m[c.Code] = c.Name
		}
		return m
	}()
	byName = func() []Country {
		s := slices.Clone(all)
		slices.SortFunc(s, func(a, b Country) int { return cmp.Compare(a.Name, b.Name) })
		return s
	}()
)

// Name returns the country's name, and whether code is a country.
func Name(code string) (string, bool) {
	n, ok := byCode[code]
	return n, ok
}

// ByName returns every country sorted by name, for a select box. The slice
// is shared: do not modify it.
func ByName() []Country { return byName }
