package sqlitedb

import (
	"context"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// maxCachedStatements bounds each connection's statement cache; the apps'
// SQL is a fixed set of strings, far fewer than this.
const maxCachedStatements = 256

// connector opens modernc connections that keep their prepared statements.
// database/sql hands a query with arguments straight to the driver, and
// modernc then parses the SQL on every call; the cache parses each
// statement once per connection, which is most of the cost of a small query.
type connector struct {
	dsn    string
	driver *sqlite.Driver
	gate   writeGate // shared by the database's connections
	counts *Counts   // nil: not counted
}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]*cachedStmt{}, gate: c.gate, counts: c.counts}, nil
}

func (c connector) Driver() driver.Driver { return c.driver }

// The interfaces of modernc's conn that database/sql uses, forwarded.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	conn   driver.Conn
	stmts  map[string]*cachedStmt
	gate   writeGate
	counts *Counts
	// inTx: a transaction is open on the connection; inGate: it holds the
	// gate's turn. database/sql uses a connection from one goroutine at a
	// time.
	inTx, inGate bool
}

// endTx ends the open transaction's hold on the gate.
func (c *cachingConn) endTx() {
	if c.inGate {
		c.gate.leave()
	}
	c.inTx, c.inGate = false, false
}

// enterAlone takes the gate's turn for a statement outside a transaction
// that may write, and reports whether it did (then it must leave).
func (c *cachingConn) enterAlone(ctx context.Context, query string) bool {
	return !c.inTx && c.gate != nil && writes(query) && c.gate.enter(origin(ctx))
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool // rows of it are open
}

var errNotSQLite = errors.New("sqlitedb: the driver connection lacks an interface modernc.org/sqlite implements")

func (c *cachingConn) sqlite() (sqliteConn, error) {
	sc, ok := c.conn.(sqliteConn)
	if !ok {
		return nil, errNotSQLite
	}
	return sc, nil
}

// cached returns the prepared statement for query, preparing it on first
// use; nil means "run it uncached" (cache full, or the statement is busy).
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	if len(c.stmts) >= maxCachedStatements {
		return nil, nil
	}
	sc, err := c.sqlite()
	if err != nil {
		return nil, err
	}
	st, err := sc.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	full, ok := st.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		st.Close()
		return nil, nil
	}
	cs := &cachedStmt{stmt: full}
	c.stmts[query] = cs
	return cs, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	switch txControl(query) {
	case txBegins:
		return c.beginStatement(ctx, query, args)
	case txEnds:
		defer c.endTx()
		return c.exec(ctx, query, args)
	}
	c.counts.statement()
	if c.enterAlone(ctx, query) {
		defer c.gate.leave()
	}
	return c.exec(ctx, query, args)
}

// beginStatement runs a BEGIN written as a statement (simkit's writer
// begins its transactions so, see simkit.WriteTx) as BeginTx begins one:
// it takes the gate's turn, which the COMMIT or ROLLBACK ends, and counts
// as a transaction.
func (c *cachingConn) beginStatement(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.inTx {
		return c.exec(ctx, query, args) // SQLite refuses it; the open transaction keeps its turn
	}
	var res driver.Result
	err := c.beginTx(ctx, func() (err error) {
		res, err = c.exec(ctx, query, args)
		return err
	})
	return res, err
}

// beginTx begins a transaction with begin, BeginTx's or a BEGIN statement:
// counted, the gate's turn taken first and kept until the transaction
// ends (endTx).
func (c *cachingConn) beginTx(ctx context.Context, begin func() error) error {
	c.counts.transaction()
	c.inGate = c.gate != nil && c.gate.enter(origin(ctx))
	if err := begin(); err != nil {
		c.endTx()
		return err
	}
	c.inTx = true
	return nil
}

func (c *cachingConn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	run, err := uninterrupted(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := c.cached(run, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		sc, err := c.sqlite()
		if err != nil {
			return nil, err
		}
		return sc.ExecContext(run, query, args)
	}
	return cs.stmt.ExecContext(run, args)
}

// uninterrupted is the context a statement runs under in modernc: ctx's
// values without its cancellation, or ctx's error if it (or the context it
// was detached from, see Detach) has ended.
//
// Under a context that can end, modernc starts a goroutine per statement
// to interrupt it (and per BEGIN), which wakes an idle processor: about
// half the goroutines a checkout flow started, for statements that take
// tens of microseconds. So a context that ends stops the work at the next
// statement instead, and at the next row (cachedRows). A wait for another process's write lock is
// bounded by busy_timeout (5 s) instead.
func uninterrupted(ctx context.Context) (context.Context, error) {
	if err := origin(ctx).Err(); err != nil {
		return nil, err
	}
	if ctx.Done() == nil {
		return ctx, nil
	}
	return context.WithoutCancel(ctx), nil
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.counts.statement()
	if !c.enterAlone(ctx, query) {
		return c.query(ctx, query, args)
	}
	rows, err := c.query(ctx, query, args)
	if err != nil {
		c.gate.leave()
		return nil, err
	}
	return &gatedRows{Rows: rows, gate: c.gate}, nil
}

func (c *cachingConn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	run, err := uninterrupted(ctx)
	if err != nil {
		return nil, err
	}
	ctx = origin(ctx) // what ends the rows
	cs, err := c.cached(run, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		sc, err := c.sqlite()
		if err != nil {
			return nil, err
		}
		rows, err := sc.QueryContext(run, query, args)
		if err != nil {
			return nil, err
		}
		return &cachedRows{Rows: rows, done: ctx.Done(), ctx: ctx}, nil
	}
	rows, err := cs.stmt.QueryContext(run, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, stmt: cs, done: ctx.Done(), ctx: ctx}, nil
}

// cachedRows frees its statement (if cached) for the next query when
// closed, and ends at the next row once the query's context has ended.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt // nil: not cached
	done <-chan struct{}
	ctx  context.Context
}

func (r *cachedRows) Next(dest []driver.Value) error {
	select {
	case <-r.done:
		return r.ctx.Err()
	default:
	}
	return r.Rows.Next(dest)
}

func (r *cachedRows) Close() error {
	if r.stmt != nil {
		r.stmt.busy = false
	}
	return r.Rows.Close()
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

// Begin is required by driver.Conn; database/sql calls BeginTx.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) Close() error {
	c.endTx() // closed in a transaction (a broken connection): its turn ends too
	for _, cs := range c.stmts {
		cs.stmt.Close()
	}
	c.stmts = nil
	return c.conn.Close()
}

// BeginTx takes the gate's turn first: every transaction here begins
// IMMEDIATE (it takes SQLite's write lock at once, see Open).
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	sc, err := c.sqlite()
	if err != nil {
		return nil, err
	}
	var tx driver.Tx
	if err := c.beginTx(ctx, func() error {
		run, err := uninterrupted(ctx) // after the wait for the turn, which ctx may end
		if err != nil {
			return err
		}
		tx, err = sc.BeginTx(run, opts)
		return err
	}); err != nil {
		return nil, err
	}
	return &gatedTx{Tx: tx, c: c}, nil
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	sc, err := c.sqlite()
	if err != nil {
		return nil, err
	}
	return sc.PrepareContext(ctx, query)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	sc, err := c.sqlite()
	if err != nil {
		return err
	}
	return sc.Ping(ctx)
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	sc, err := c.sqlite()
	if err != nil {
		return err
	}
	return sc.ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool {
	sc, err := c.sqlite()
	return err == nil && sc.IsValid()
}
