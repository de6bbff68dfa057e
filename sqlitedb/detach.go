package sqlitedb

import "context"

// Detach is ctx as database/sql should see it for a query (QueryContext,
// QueryRowContext) on a database this package opened: one that cannot
// end, so that database/sql starts no goroutine to watch it, as it does
// for every query under a context that can. The driver still stops at the
// next statement or row once ctx ends (see uninterrupted), as it does for
// ctx itself; only a wait for a free connection of the pool is no longer
// cut short (they are short: statements take tens of microseconds).
//
// A query in a transaction gains nothing: database/sql watches the
// transaction's own context whatever the query's.
func Detach(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithValue(context.WithoutCancel(ctx), detachedFrom{}, ctx)
}

type detachedFrom struct{}

// origin is the context whose end stops a statement: the one ctx was
// detached from (Detach), or ctx itself.
func origin(ctx context.Context) context.Context {
	if from, ok := ctx.Value(detachedFrom{}).(context.Context); ok {
		return from
	}
	return ctx
}
