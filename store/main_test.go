package store

import (
	"testing"

	"example.com/storefront/internal/pgtest"
)

// TestMain stops the PostgreSQL server the tests started (dbtest.Each).
func TestMain(m *testing.M) { pgtest.Main(m) }
