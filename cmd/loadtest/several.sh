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
# in the tests runs it. PG_SETTINGS adds server settings, e.g.
# PG_SETTINGS="-c synchronous_commit=off" to see what the fsync of each
# commit costs (SQLite's synchronous=NORMAL does not sync each commit).
set -eu
FLOWS=${1:-400}
CONC=${2:-8}
PORT=${PGPORT:-55439}
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
$AS postgres -D "$TMP/pg/data" -k "$TMP/pg" -c listen_addresses=127.0.0.1 -p "$PORT" ${PG_SETTINGS:-} >"$TMP/pg.log" 2>&1 &
PG=$!
PIDS="$PIDS $PG"
# Asked on its own socket, so that another server on $PORT is not taken
# for it; if it could not start (the port is taken), say so.
until $AS pg_isready -q -h "$TMP/pg" -p "$PORT"; do
	if ! kill -0 "$PG" 2>/dev/null; then
		cat "$TMP/pg.log" >&2
		echo "several.sh: PostgreSQL did not start on port $PORT (set PGPORT to a free one)" >&2
		exit 1
	fi
	sleep 0.2
done

# free PORT refuses a port something already answers on: the figures
# would be another server's.
free() {
	if curl -s -o /dev/null "http://localhost:$1/"; then
		echo "several.sh: port $1 is in use (set HTTP_PORT to another base)" >&2
		exit 1
	fi
}
# up PID PORT waits until the process PID answers on PORT.
up() {
	until curl -sf -o /dev/null "http://localhost:$2/healthz"; do
		if ! kill -0 "$1" 2>/dev/null; then
			echo "several.sh: the process for port $2 stopped; its log is in $TMP" >&2
			exit 1
		fi
		sleep 0.2
	done
}

# One sandbox process for every configuration (on HTTP_PORT+10); its
# webhooks go to the first instance (any instance processes them for the
# shared database). Instances listen on HTTP_PORT+1, +2, +3.
HTTP=${HTTP_PORT:-18080}
SANDBOX=http://localhost:$((HTTP + 10))
free $((HTTP + 10))
WEBHOOK_URL=http://localhost:$((HTTP + 1)) ADDR=localhost:$((HTTP + 10)) DATA_DIR="$TMP/sandbox" \
	"$TMP/storefront" sandbox >"$TMP/sandbox.log" 2>&1 &
PIDS="$PIDS $!"
until curl -s -o /dev/null "$SANDBOX/sandbox/keys"; do sleep 0.2; done

KEYS=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
INSTANCE_PIDS=""
# start N DATABASE: N instances on localhost:HTTP_PORT+1.., on DATABASE (a
# PostgreSQL database name, or "" for SQLite in a DATA_DIR of its own).
start() {
	URLS=""
	i=1
	while [ "$i" -le "$1" ]; do
		port=$((HTTP + i))
		free "$port"
		if [ -n "$2" ]; then
			db="DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/$2?sslmode=disable"
		else
			db="DATABASE_URL="
		fi
		env $db SESSION_KEYS="$KEYS" ADMIN_PASSWORD=measure-password RATE_LIMIT=off LOG_LEVEL=warn \
			SANDBOX_URL="$SANDBOX" ADDR="localhost:$port" DATA_DIR="$TMP/data$port-$2" \
			"$TMP/storefront" >"$TMP/instance$port-$2.log" 2>&1 &
		INSTANCE_PIDS="$INSTANCE_PIDS $!"
		up "$!" "$port"
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
	$AS createdb -h "$TMP/pg" -p "$PORT" -U postgres "storefront$n"
	start "$n" "storefront$n" && measure "$n instance(s), PostgreSQL" && stop
done
