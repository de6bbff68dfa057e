package pgdb

import (
	"context"
	"database/sql/driver"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/stdlib"
)

// connector hands out connections that read ? as $n. The store writes its
// SQL once, with ?, for both databases; SQLite reads ? natively.
type connector struct {
	driver.Connector
	rebound *rebindCache
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: dc.(*stdlib.Conn), rebound: c.rebound}, nil
}

// conn forwards every interface of pgx's connection that database/sql
// uses, with the query rewritten on the way.
type conn struct {
	*stdlib.Conn
	rebound *rebindCache
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, c.rebound.get(query))
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(c.rebound.get(query))
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, c.rebound.get(query), args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, c.rebound.get(query), args)
}

// rebindCache remembers each query's rewrite: the store's queries are a
// few hundred constant strings, and the list's filters a few dozen more.
type rebindCache struct {
	mu sync.RWMutex
	m  map[string]string
}

// maxRebound bounds the cache, should a caller build unbounded query texts.
const maxRebound = 4096

func newRebindCache() *rebindCache { return &rebindCache{m: make(map[string]string)} }

func (r *rebindCache) get(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	r.mu.RLock()
	q, ok := r.m[query]
	r.mu.RUnlock()
	if ok {
		return q
	}
	q = Rebind(query)
	r.mu.Lock()
	if len(r.m) < maxRebound {
		r.m[query] = q
	}
	r.mu.Unlock()
	return q
}

// Rebind rewrites each ? placeholder of query as $1, $2, …, leaving ? in
// quoted strings, quoted identifiers and comments alone.
func Rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
