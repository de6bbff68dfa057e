package pgdb

import "testing"

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?', "a?b", ? -- is it?` + "\n" + `, ?`, `SELECT '?', "a?b", $1 -- is it?` + "\n" + `, $2`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	} {
		if got := Rebind(c.in); got != c.want {
			t.Errorf("Rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIsURLAndRedact(t *testing.T) {
	if !IsURL("postgres://u:p@h/db") || !IsURL("postgresql:///db?host=/tmp") || IsURL("./data/storefront.db") {
		t.Error("IsURL misjudges")
	}
	if got := Redact("postgres://u:secret@h:5432/db"); got != "postgres://u:xxxxx@h:5432/db" {
		t.Errorf("Redact = %q", got)
	}
}
