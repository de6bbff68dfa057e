#!/bin/sh
# several.sh measures flows/s with the load driver against one instance on
# SQLite, then one, two and three instances on one PostgreSQL, all on one
# sandbox process, back to back (README: "Several instances", "Measured").
# Run from the repository's root, as a user who may run PostgreSQL (as
# root, the server runs as the postgres account):
#
#	sh cmd/loadtest/several.sh [flows] [concurrency]
#
# It needs initdb and postgres (PostgreSQL 15 here) on the PATH. Nothing
# in the tests runs it.
set -eu
FLOWS=${1:-400}
CONC=${2:-8}
PORT=${PGPORT:-55432}
TMP=$(mktemp -d)
chmod 755 "$TMP"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

go build -o "$TMP/storefront" .
go build -o "$TMP/loadtest" ./cmd/loadtest

# PostgreSQL: a throwaway server on 127.0.0.1:$PORT, trusting local users.
AS=""
[ "$(id -u)" = 0 ] && AS="runuser -u postgres --"
mkdir -p "$TMP/pg"
[ -n "$AS" ] && chown postgres "$TMP/pg"
$AS initdb -A trust -U postgres -D "$TMP/pg/data" >/dev/null
$AS postgres -D "$TMP/pg/data" -k "$TMP/pg" -c listen_addresses=127.0.0.1 -p "$PORT" >"$TMP/pg.log" 2>&1 &
PIDS="$PIDS $!"
until $AS pg_isready -q -h 127.0.0.1 -p "$PORT"; do sleep 0.2; done

# One sandbox process for every configuration; its webhooks go to the
# first instance (any instance processes them for the shared database).
WEBHOOK_URL=http://localhost:8081 ADDR=localhost:8090 DATA_DIR="$TMP/sandbox" \
	"$TMP/storefront" sandbox >"$TMP/sandbox.log" 2>&1 &
PIDS="$PIDS $!"

KEYS=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
INSTANCE_PIDS=""
# start N DATABASE: N instances on localhost:8081.., on DATABASE (a
# PostgreSQL database name, or "" for SQLite in a DATA_DIR of its own).
start() {
	URLS=""
	i=1
	while [ "$i" -le "$1" ]; do
		port=$((8080 + i))
		if [ -n "$2" ]; then
			db="DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/$2?sslmode=disable"
		else
			db="DATABASE_URL="
		fi
		env $db SESSION_KEYS="$KEYS" ADMIN_PASSWORD=measure-password RATE_LIMIT=off LOG_LEVEL=warn \
			SANDBOX_URL=http://localhost:8090 ADDR="localhost:$port" DATA_DIR="$TMP/data$port-$2" \
			"$TMP/storefront" >"$TMP/instance$port-$2.log" 2>&1 &
		INSTANCE_PIDS="$INSTANCE_PIDS $!"
		until curl -sf "http://localhost:$port/healthz" >/dev/null; do sleep 0.2; done
		URLS="$URLS${URLS:+,}http://localhost:$port"
		i=$((i + 1))
	done
}
stop() {
	for p in $INSTANCE_PIDS; do kill "$p"; done
	for p in $INSTANCE_PIDS; do wait "$p" || true; done
	INSTANCE_PIDS=""
}
measure() { # name
	echo "== $1: $URLS"
	"$TMP/loadtest" -url "$URLS" -flows "$FLOWS" -concurrency "$CONC" -progress 0 | grep -E 'flows/s|^ *http://'
}

start 1 "" && measure "1 instance, SQLite" && stop
for n in 1 2 3; do
	$AS createdb -h 127.0.0.1 -p "$PORT" -U postgres "storefront$n"
	start "$n" "storefront$n" && measure "$n instance(s), PostgreSQL" && stop
done
