package store

import "fmt"

// dialect is the SQL that differs between SQLite and PostgreSQL, in one
// place; every other statement of the store is written once, for both
// (with ? placeholders, which pgdb reads as $n).
type dialect struct {
	name string
	// lockRows ends a SELECT, in a write transaction, of rows the
	// transaction then changes on what it read. PostgreSQL locks them, so
	// that concurrent transactions on the same rows take turns; SQLite
	// needs nothing, its write transactions already run one at a time
	// (BEGIN IMMEDIATE). The lock is FOR NO KEY UPDATE, the one an UPDATE
	// of other columns than the key takes: FOR UPDATE would also block the
	// foreign-key check of a row inserted elsewhere that refers to the
	// locked one (a history row of the mandate), and two transactions
	// taking the mandate and its billing in turn deadlocked on it
	// (TestRevocationsRacingBillingNeverDeadlock).
	lockRows string
	// skipLocked ends the SELECT of a claim: PostgreSQL skips rows another
	// instance is claiming right now rather than wait for it.
	skipLocked string
	// orderedJoin joins keeping the left table the outer loop. SQLite
	// keeps CROSS JOIN's order (its planner's documented escape hatch);
	// PostgreSQL's planner chooses well by itself, and has no CROSS JOIN
	// … ON.
	orderedJoin string
	// greatest and least are the scalar max and min of two values.
	greatest, least string
	// operationOrder orders a charge's operations as they were recorded.
	operationOrder string
	// billingDue follows "FROM billing" in a read of the billings due
	// (the worker's claim): without statistics SQLite's planner prefers
	// an index on state and sorts every active billing, at each claim;
	// billing_due (next_due_at, of the active and past-due ones) walks
	// only those due, in order. PostgreSQL's planner chooses well.
	billingDue string
	// lockTable, with a table's name, is the statement that makes the
	// write transactions that take it run one at a time, as SQLite's
	// always do ("": nothing to run).
	lockTable string
}

var (
	sqlite = dialect{
		name:           "sqlite",
		orderedJoin:    "CROSS JOIN",
		greatest:       "max",
		least:          "min",
		operationOrder: "o.rowid",
		billingDue:     " INDEXED BY billing_due",
	}
	postgres = dialect{
		name:           "postgres",
		lockRows:       " FOR NO KEY UPDATE",
		skipLocked:     " FOR NO KEY UPDATE SKIP LOCKED",
		orderedJoin:    "JOIN",
		greatest:       "greatest",
		least:          "least",
		operationOrder: "o.seq",
		// Readers are not blocked; another writer of the table waits.
		lockTable: "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE",
	}
)

// lockOf is lockRows for a SELECT that joins other tables: only table
// alias's rows are locked (PostgreSQL refuses to lock the nullable side
// of an outer join).
func (d dialect) lockOf(alias string) string {
	if d.lockRows == "" {
		return ""
	}
	return fmt.Sprintf("%s OF %s", d.lockRows, alias)
}
