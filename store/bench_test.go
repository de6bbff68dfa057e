package store

import (
	"context"
	"fmt"
	"testing"

	"example.com/storefront/mandate"
)

// The store's share of one checkout: record the mandate, set its provider
// reference, look it up by that reference, and activate it.
func BenchmarkMandateLifecycle(b *testing.B) {
	s, _ := mustOpen(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		m, err := s.CreateMandate(ctx, newMandate("a@example.com"))
		if err != nil {
			b.Fatal(err)
		}
		ref := fmt.Sprintf("cs_%d", i)
		if err := s.SetProviderRef(ctx, m.ID, ref, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := s.MandateByProviderRef(ctx, "stripe", ref); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Transition(ctx, m.ID, mandate.Active, Change{Source: mandate.SourceReturnPage, PaymentMethodID: "pm_1", PaymentMethodType: "amazon_pay"}); err != nil {
			b.Fatal(err)
		}
	}
}
