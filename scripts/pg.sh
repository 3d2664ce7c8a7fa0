#!/usr/bin/env bash
# pg.sh — a private PostgreSQL for development and tests.
#
#   scripts/pg.sh [start]   start (or reuse) the cluster; print its DATABASE_URL
#   scripts/pg.sh stop      stop it
#   scripts/pg.sh status    say whether it runs; print the URL if it does
#
# If DATABASE_URL is set, `start` prints it and does nothing else: an
# existing server always wins over the private one.
#
# Only the URL goes to stdout, so `export DATABASE_URL=$(scripts/pg.sh)` works;
# progress goes to stderr.
#
# Environment:
#   HOTLINE_PG_DIR   where the cluster lives (default: <repo>/var/pg)
#   HOTLINE_PG_PORT  TCP port on 127.0.0.1 (default 55432; if taken, the next
#                    free one up to +50 is used, unless the variable was set)
#   HOTLINE_PG_DB    database to create (default hotline)
#   PG_BINDIR        PostgreSQL server binaries (default: newest
#                    /usr/lib/postgresql/*/bin, or the data directory's version)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${HOTLINE_PG_DIR:-$ROOT/var/pg}
DB=${HOTLINE_PG_DB:-hotline}
DEFAULT_PORT=55432
SUPERUSER=postgres
CMD=${1:-start}

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case $CMD in
start | stop | status) ;;
-h | --help | help)
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 0
	;;
*) die "unknown command '$CMD' (want start, stop or status)" ;;
esac

if [[ $CMD == start && -n ${DATABASE_URL:-} ]]; then
	printf '%s\n' "$DATABASE_URL"
	exit 0
fi

# --- who runs the server --------------------------------------------------
# initdb and postgres refuse to run as root, so root hands the cluster to an
# unprivileged account: Debian's `postgres` when the package made one,
# otherwise a dedicated system user.
if [[ $EUID -eq 0 ]]; then
	if id -u postgres >/dev/null 2>&1; then
		RUNAS=postgres
	else
		RUNAS=hotline
		if ! id -u "$RUNAS" >/dev/null 2>&1; then
			log "creating system user '$RUNAS' to own the private cluster"
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$RUNAS" ||
				die "could not create user '$RUNAS'"
		fi
	fi
	as_pg() { runuser -u "$RUNAS" -- "$@" 9>&-; }
else
	RUNAS=$(id -un)
	as_pg() { "$@" 9>&-; }
fi
# (9>&-: fd 9 holds pg.sh's lock, and the postmaster must not inherit it.)

# --- where it lives ---------------------------------------------------------
# When root's checkout sits somewhere the server account cannot enter (say
# /root/hotline), the cluster goes to /var/tmp and var/pg becomes a link to it,
# rather than loosening permissions on the user's directories.
prepare_base() {
	mkdir -p "$BASE"
	if [[ $EUID -eq 0 ]] && ! runuser -u "$RUNAS" -- test -x "$BASE/." 2>/dev/null; then
		local alt
		alt=/var/tmp/hotline-pg-$(printf '%s' "$LINK" | sha256sum | cut -c1-12)
		rmdir "$BASE" 2>/dev/null ||
			die "$BASE is not reachable by user $RUNAS and not empty; move it or set HOTLINE_PG_DIR"
		log "$BASE is not reachable by user $RUNAS; keeping the cluster in $alt"
		mkdir -p "$alt"
		ln -sfn "$alt" "$LINK"
		runuser -u "$RUNAS" -- test -x "$alt/." || die "user $RUNAS cannot reach $alt either"
		BASE=$alt
		set_paths
	fi
	# var/ holds nothing to commit, and its own go.mod keeps `go ... ./...`
	# from walking thousands of data files (nested modules are skipped).
	if [[ $LINK == "$ROOT/var/pg" ]]; then
		[[ -e $ROOT/var/.gitignore ]] || printf '*\n' >"$ROOT/var/.gitignore"
		[[ -e $ROOT/var/go.mod ]] || printf '// Not Go code: runtime data. This file keeps ./... patterns out of var/.\nmodule ignore\n' >"$ROOT/var/go.mod"
	fi
	mkdir -p "$BASE/run" "$BASE/log"
	if [[ $EUID -eq 0 ]]; then
		# -R only when needed: a large data directory makes it slow.
		local f
		for f in "$BASE/." "$BASE/run" "$BASE/log" "$BASE/data"; do
			[[ -e $f ]] || continue
			[[ $(stat -c %U "$f") == "$RUNAS" ]] || chown -R "$RUNAS": "$f"
		done
	fi
}

# Resolved once, so a var/pg link to /var/tmp (see prepare_base) is followed
# by every command, not just by the one that created it.
LINK=$BASE
BASE=$(readlink -m "$BASE")

set_paths() {
	DATA=$BASE/data
	RUN=$BASE/run
	LOGFILE=$BASE/log/postgres.log
}
set_paths

# --- which binaries ---------------------------------------------------------
find_bindir() {
	if [[ -n ${PG_BINDIR:-} ]]; then
		printf '%s\n' "$PG_BINDIR"
		return
	fi
	# A data directory only works with its own major version.
	if [[ -f $DATA/PG_VERSION ]]; then
		local v
		v=$(cat "$DATA/PG_VERSION")
		if [[ -x /usr/lib/postgresql/$v/bin/initdb ]]; then
			printf '%s\n' "/usr/lib/postgresql/$v/bin"
			return
		fi
		die "$DATA was created by PostgreSQL $v, whose server is not installed (apt-get install postgresql-$v, or remove $BASE)"
	fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -n $d && -x $d/initdb ]]; then
		printf '%s\n' "$d"
		return
	fi
	if command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return
	fi
	die "PostgreSQL server binaries not found (run scripts/deps.sh, or set PG_BINDIR)"
}

running() { [[ -f $DATA/PG_VERSION ]] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

# The port the running server listens on, from its pid file (line 4).
running_port() { sed -n 4p "$DATA/postmaster.pid"; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
	local p
	if [[ -n ${HOTLINE_PG_PORT:-} ]]; then
		port_busy "$HOTLINE_PG_PORT" && die "port $HOTLINE_PG_PORT (HOTLINE_PG_PORT) is already in use"
		printf '%s\n' "$HOTLINE_PG_PORT"
		return
	fi
	# Prefer the port used last time, so a saved DATABASE_URL keeps working.
	if [[ -f $BASE/port ]]; then
		p=$(cat "$BASE/port")
		if ! port_busy "$p"; then
			printf '%s\n' "$p"
			return
		fi
	fi
	for ((p = DEFAULT_PORT; p <= DEFAULT_PORT + 50; p++)); do
		if ! port_busy "$p"; then
			printf '%s\n' "$p"
			return
		fi
	done
	die "no free port in $DEFAULT_PORT-$((DEFAULT_PORT + 50)); set HOTLINE_PG_PORT"
}

url() { printf 'postgres://%s@127.0.0.1:%s/%s?sslmode=disable\n' "$SUPERUSER" "$1" "$DB"; }

do_init() {
	log "initialising a private cluster in $DATA (owner $RUNAS)"
	# Trust is safe here: the server listens only on loopback and a socket
	# in a directory of the checkout, and holds throw-away data.
	(cd "$BASE" && as_pg "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust \
		--encoding=UTF8 --no-locale --no-instructions >"$BASE/log/initdb.log" 2>&1) ||
		{
			cat "$BASE/log/initdb.log" >&2
			die "initdb failed"
		}
	printf "\ninclude_if_exists = 'hotline.conf'\n" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
}

do_start() {
	prepare_base
	BIN=$(find_bindir)
	[[ -f $DATA/PG_VERSION ]] || do_init
	local port
	if running; then
		port=$(running_port)
	else
		port=$(pick_port)
		# Regenerated at every start so a moved checkout or a new port takes
		# effect; synchronous_commit=off trades the last few transactions on
		# a crash for much faster tests, fine for disposable data.
		as_pg tee "$DATA/hotline.conf" >/dev/null <<EOF
# Written by scripts/pg.sh at every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$RUN'
max_connections = 200
synchronous_commit = off
EOF
		log "starting PostgreSQL on 127.0.0.1:$port (socket in $RUN, log in $LOGFILE)"
		if ! (cd "$BASE" && as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 start >/dev/null); then
			tail -n 20 "$LOGFILE" >&2 || true
			die "PostgreSQL did not start"
		fi
		printf '%s\n' "$port" >"$BASE/port"
	fi
	local exists
	exists=$(cd "$BASE" && as_pg "$BIN/psql" -h "$RUN" -p "$port" -U "$SUPERUSER" -d postgres -XtAq \
		-c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ||
		die "cannot connect to the private cluster on port $port"
	if [[ $exists != 1 ]]; then
		log "creating database $DB"
		(cd "$BASE" && as_pg "$BIN/createdb" -h "$RUN" -p "$port" -U "$SUPERUSER" "$DB") ||
			die "createdb $DB failed"
	fi
	log "ready: psql -h $RUN -p $port -U $SUPERUSER $DB"
	url "$port"
}

do_stop() {
	if [[ ! -f $DATA/PG_VERSION ]]; then
		log "no private cluster in $BASE"
		return 0
	fi
	BIN=$(find_bindir)
	if ! running; then
		log "private cluster is not running"
		return 0
	fi
	(cd "$BASE" && as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null) || die "pg_ctl stop failed"
	log "stopped"
}

do_status() {
	if [[ -f $DATA/PG_VERSION ]]; then
		BIN=$(find_bindir)
		if running; then
			log "running on 127.0.0.1:$(running_port), data in $DATA"
			url "$(running_port)"
			return 0
		fi
	fi
	log "not running"
	return 3
}

# Two `make` targets may start the cluster at once; serialise them.
if [[ $CMD != status ]] && command -v flock >/dev/null 2>&1; then
	mkdir -p "$(dirname "$BASE")"
	exec 9>"$(dirname "$BASE")/.pg.lock"
	flock -w 120 9 || die "timed out waiting for another pg.sh"
fi

case $CMD in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
esac
