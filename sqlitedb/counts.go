package sqlitedb

import "sync/atomic"

// Counts is what a database's connections ran: statements (queries and
// executions; BEGIN and COMMIT are not among them) and transactions begun.
// Benchmarks report them per operation beside CPU time: on a machine
// shared with other work the host's load moves CPU time by a fifth between
// runs, and cannot move these.
type Counts struct {
	statements, transactions atomic.Int64
}

// Statements is how many statements ran.
func (c *Counts) Statements() int64 { return c.statements.Load() }

// Transactions is how many transactions began.
func (c *Counts) Transactions() int64 { return c.transactions.Load() }

func (c *Counts) statement() {
	if c != nil {
		c.statements.Add(1)
	}
}

func (c *Counts) transaction() {
	if c != nil {
		c.transactions.Add(1)
	}
}

// Option adjusts a database as Open opens it.
type Option func(*connector)

// WithCounts counts into c what the database's connections run.
func WithCounts(c *Counts) Option { return func(cn *connector) { cn.counts = c } }
