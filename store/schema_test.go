package store

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"example.com/storefront/internal/dbtest"
)

// The two databases' migrations make the same schema: the same tables,
// each with the same columns, nullable alike. A migration added to one
// folder and not the other (or written differently) fails here, not in
// production on the database nobody tried.
func TestSchemasOfBothDatabasesMatch(t *testing.T) {
	ctx := context.Background()
	lite, _ := mustOpenAt(t, dbtest.KindSQLite.New(t))
	pg, _ := mustOpenAt(t, dbtest.KindPostgres.New(t))

	columns := func(s *Store, q string) map[string]string {
		t.Helper()
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var table, column string
			var notNull bool
			if err := rows.Scan(&table, &column, &notNull); err != nil {
				t.Fatal(err)
			}
			if table == "schema_migrations" {
				continue
			}
			out[table+"."+column] = map[bool]string{true: "NOT NULL", false: "NULL"}[notNull]
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	inSQLite := columns(lite, `SELECT m.name, c.name, c."notnull" != 0 OR c.pk = 1 AND c.type != 'INTEGER'
		FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	inPostgres := columns(pg, `SELECT table_name, column_name, is_nullable = 'NO' FROM information_schema.columns
		WHERE table_schema = current_schema()`)
	// PostgreSQL's own additions (see migrations/postgres/0013_schema.sql).
	delete(inPostgres, "charge_operations.seq")
	// SQLite's INTEGER PRIMARY KEY is the rowid, never NULL in fact.
	for col, null := range inSQLite {
		if null == "NULL" && inPostgres[col] == "NOT NULL" && strings.HasSuffix(col, ".id") {
			inSQLite[col] = "NOT NULL"
		}
	}
	for _, col := range slices.Sorted(maps.Keys(inSQLite)) {
		if got, ok := inPostgres[col]; !ok {
			t.Errorf("%s is in SQLite's schema, not in PostgreSQL's", col)
		} else if got != inSQLite[col] {
			t.Errorf("%s is %s in SQLite, %s in PostgreSQL", col, inSQLite[col], got)
		}
	}
	for _, col := range slices.Sorted(maps.Keys(inPostgres)) {
		if _, ok := inSQLite[col]; !ok {
			t.Errorf("%s is in PostgreSQL's schema, not in SQLite's", col)
		}
	}
	if len(inSQLite) < 100 {
		t.Fatalf("read only %d columns from SQLite: the query is wrong", len(inSQLite))
	}
}
