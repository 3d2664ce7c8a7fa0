#!/usr/bin/env bash
# bench-sipp.sh — SIPp load against `bin/hotline serve`, unattended.
#
#   scripts/bench-sipp.sh            # what `make bench` runs after the Go benchmarks
#
# Starts the server on a fresh database (hotline_bench_<pid>, created on the
# server DATABASE_URL points at and dropped at the end; scripts/pg.sh's
# private cluster when DATABASE_URL is unset), SIP on 127.0.0.1:<free port>,
# RTP 10000-59999, log level warn, then runs two experiments:
#
#  A. Concurrent calls in the IVR with media both ways (bench/ivr-call.xml):
#     for each level N, SIPp ramps N calls to +15550100 (the demo tenant:
#     welcome prompt, then the main menu looping with retries), each
#     streaming G.711 A-law at 50 packets/s, holds them BENCH_HOLD seconds
#     and hangs up. While all N are up, a BENCH_WINDOW-second window
#     measures the server's CPU (utime+stime from /proc/PID/stat), RSS,
#     threads, Go heap and goroutines (/metrics), SIPp's, PostgreSQL's and
#     the machine's CPU, and the kernel's UDP drop counters: on the server's
#     sockets they are RTP lost because the server did not read in time; on
#     SIPp's (rtp_stream never reads its socket) they count what arrived.
#     After the level: SIPp's failed calls (its statistics CSV) and the CDRs
#     (RTP loss and jitter as the server saw SIPp's stream, packets sent
#     against what the prompt timeline calls for, hang-up causes). Stepping
#     stops when a level fails (server gone, the level not reached, or
#     failed calls over the 0.1% pass line).
#
#  B. Call setup rate (bench/setup-call.xml: INVITE, 200, ACK, 1 s, BYE)
#     at each rate R for BENCH_RATE_SECS seconds: failed calls, 503s (the
#     server's counter), achieved rate, setup time, CPU, RSS before and
#     after, the time to serve calls again after the overload, and RSS once
#     the transactions of the burst have expired.
#
# Prints a summary table and writes everything (SIPp CSVs and screens, the
# server log, the summary) to BENCH_OUT. Exits non-zero only when the
# benchmark cannot be set up (missing tools, database, server does not
# start); a missed target is a result, not an error.
#
# Environment (defaults in brackets):
#   BENCH_LEVELS     concurrent-call levels ["100 250 500 1000 1500"]
#   BENCH_HOLD       seconds each call stays in the IVR [40]
#   BENCH_WINDOW     measurement window in seconds [20]
#   BENCH_RATES      call setup rates, calls/s ["500 1000 2000 3000"]
#   BENCH_RATE_SECS  seconds per rate [20]
#   BENCH_MAX_CPS    limits.max_cps of the bench server [2500, as configs/hotline.yaml]
#   BENCH_MAX_CALLS  limits.max_calls [5000]
#   BENCH_OUT        results directory [var/bench/<date>-<time>]
#   BENCH_QUIET_WAIT seconds the run may wait, in all, for other work on the
#                    machine to stop before a level or rate [240]
#   BENCH_PERF=1     also record a perf profile of the server during the
#                    window of the highest level (perf report in BENCH_OUT)
#   HOTLINE_BIN      server binary [bin/hotline; built if missing]
#   SIPP             [sipp]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH=$PATH:/usr/local/go/bin

LEVELS=${BENCH_LEVELS:-100 250 500 1000 1500}
HOLD=${BENCH_HOLD:-40}
WINDOW=${BENCH_WINDOW:-20}
RATES=${BENCH_RATES:-500 1000 2000 3000}
RATE_SECS=${BENCH_RATE_SECS:-20}
MAX_CPS=${BENCH_MAX_CPS:-2500}
MAX_CALLS=${BENCH_MAX_CALLS:-5000}
OUT=${BENCH_OUT:-$ROOT/var/bench/$(date +%Y%m%d-%H%M%S)}
BIN=${HOTLINE_BIN:-$ROOT/bin/hotline}
SIPP=${SIPP:-sipp}
RAMP=10   # seconds to bring a level up
SETTLE=3  # seconds between the level being up and the window
PCAP=/usr/share/sip-tester/g711a.pcap

log() { printf 'bench-sipp: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---- prerequisites (failures here are setup errors) -------------------------

for t in "$SIPP" psql curl ss awk od dd getconf; do
	have "$t" || die "$t not found (scripts/deps.sh installs sip-tester and postgresql-client)"
done
[[ -r $PCAP ]] || die "$PCAP not found (package sip-tester)"
((HOLD >= RAMP + SETTLE + WINDOW + 5)) || die "BENCH_HOLD=$HOLD is too short for a ${WINDOW}s window (need >= $((RAMP + SETTLE + WINDOW + 5)))"
if [[ ! -x $BIN ]]; then
	log "building $BIN"
	go build -o "$BIN" ./cmd/hotline || die "go build failed"
fi
if [[ -z ${DATABASE_URL:-} ]]; then
	DATABASE_URL=$(scripts/pg.sh) || die "no DATABASE_URL and scripts/pg.sh failed"
fi

# Both SIPp and the server hold a socket per call (SIPp two), plus files.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDS=$(ulimit -n)
((FDS >= 8192)) || log "warning: only $FDS file descriptors (ulimit -n); high levels will fail for that reason"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$OUT/work
mkdir -p "$WORK"
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)

# ---- cleanup: only what this script started ----------------------------------

SERVER_PID=
SIPP_PIDS=()
BENCH_DB=
cleanup() {
	local p
	for p in "${SIPP_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null
	done
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 1 150); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
	fi
	if [[ -n $BENCH_DB ]]; then
		psql "$DATABASE_URL" -XqAt -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 ||
			log "warning: could not drop database $BENCH_DB"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- database ----------------------------------------------------------------

DB_URL=$DATABASE_URL
if [[ $DATABASE_URL =~ ^postgres(ql)?:// ]]; then
	name=hotline_bench_$$
	if psql "$DATABASE_URL" -XqAt -c "CREATE DATABASE $name" >/dev/null 2>"$WORK/createdb.err"; then
		BENCH_DB=$name
		# Same server and credentials, another database: replace the path.
		if [[ $DATABASE_URL =~ ^(postgres(ql)?://[^/?]+)(/[^?]*)?(\?.*)?$ ]]; then
			DB_URL=${BASH_REMATCH[1]}/$name${BASH_REMATCH[4]}
		else
			die "cannot parse DATABASE_URL"
		fi
	else
		log "cannot create a database ($(head -c 200 "$WORK/createdb.err")); using DATABASE_URL as it is"
	fi
else
	log "DATABASE_URL is not a URL; using it as it is"
fi
psql "$DB_URL" -XqAt -c "SELECT 1" >/dev/null || die "cannot connect to the bench database"
T0=$(psql "$DB_URL" -XqAt -c "SELECT now()")
sql() { psql "$DB_URL" -XqAt -F'|' -c "$1"; }

# ---- ports -------------------------------------------------------------------

port_free() { [[ -z $(ss -Hlun "sport = :$1") && -z $(ss -Hltn "sport = :$1") ]]; }
pick_port() { # lo hi
	local p
	for ((p = $1; p <= $2; p++)); do
		if port_free "$p"; then
			echo "$p"
			return
		fi
	done
	die "no free port in $1-$2"
}
SIP_PORT=$(pick_port 5070 5199)
HTTP_PORT=$(pick_port 18080 18199)
SIPP_PORT=$(pick_port 5200 5299)
# SIPp's control port (-cp) is taken for a moment after SIPp exits: each
# run gets a fresh one.
CTRL_NEXT=8890
ctrl_port() {
	SIPP_CTRL=$(pick_port "$CTRL_NEXT" 8999)
	CTRL_NEXT=$((SIPP_CTRL + 1))
	((CTRL_NEXT > 8999)) && CTRL_NEXT=8890
	return 0
}
# SIPp's media: -mp and, for rtp_stream, the ports after it (two per call).
# Above the server's RTP range, so the two never compete for ports.
SIPP_MP=60000

# ---- server --------------------------------------------------------------------

cat >"$WORK/hotline.yaml" <<EOF
# Written by scripts/bench-sipp.sh: the demo tenant, bench ports and limits.
sip:
  listen: "127.0.0.1:$SIP_PORT"
http:
  listen: "127.0.0.1:$HTTP_PORT"
rtp:
  ports: "10000-59999"
  timeout: 30s
  hold_timeout: 0s
data: $WORK/data
limits:
  max_calls: $MAX_CALLS
  max_cps: $MAX_CPS
log:
  level: warn
tenants:
  - id: demo
    name: Demo Bank
    timezone: America/New_York
    trunks:
      allow: ["127.0.0.1/32", "::1/128"]
    prompts: $ROOT/configs/prompts/demo
    music: $ROOT/configs/prompts/moh.wav
    flows:
      main: $ROOT/configs/flows/demo-main.yaml
    numbers:
      - number: "+15550100"
        flow: main
EOF

# G.711 A-law samples for rtp_stream, out of SIPp's own recording (Ethernet,
# IPv4, UDP and a 12-byte RTP header before each payload).
pcap_to_alaw() {
	local f=$1 out=$2 size off=24 incl
	size=$(stat -c %s "$f")
	: >"$out"
	while ((off + 16 <= size)); do
		incl=$(od -An -tu4 -j $((off + 8)) -N4 "$f" | tr -d ' ')
		dd if="$f" bs=1 skip=$((off + 16 + 54)) count=$((incl - 54)) status=none >>"$out"
		off=$((off + 16 + incl))
	done
}
pcap_to_alaw "$PCAP" "$WORK/g711a.alaw"
(($(stat -c %s "$WORK/g711a.alaw") > 8000)) || die "could not extract audio from $PCAP"

log "results in $OUT"
log "server: $BIN serve (SIP 127.0.0.1:$SIP_PORT, HTTP $HTTP_PORT, database ${BENCH_DB:-as given}), fds $FDS"
DATABASE_URL=$DB_URL "$BIN" serve --config "$WORK/hotline.yaml" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 300); do
	curl -sf --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break
	kill -0 "$SERVER_PID" 2>/dev/null || {
		tail -n 20 "$OUT/server.log" >&2
		die "server exited at start"
	}
	((i == 300)) && die "server not healthy after 30 s"
	sleep 0.1
done

# Prompt lengths, for the packets the server should have sent (50/s while
# a prompt plays, nothing in the silences of a menu).
PROMPT_SECS=
for f in "$ROOT"/configs/prompts/demo/*.wav; do
	p=$(basename "$f" .wav)
	if have soxi; then
		d=$(soxi -D "$f")
	else
		d=$(calc "%.4f" "($(stat -c %s "$f") - 44) / 16000")
	fi
	PROMPT_SECS+="${PROMPT_SECS:+,}('$p',$d)"
done

# ---- probes --------------------------------------------------------------------

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
sys_ticks() { awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6}' /proc/stat; } # busy total
alive() { kill -0 "$SERVER_PID" 2>/dev/null; }
METRICS=
scrape() { METRICS=$(curl -s --max-time 3 "http://127.0.0.1:$HTTP_PORT/metrics" || true); }
metric() { awk -v m="$1" '$1 == m {v = $2} END {printf "%.0f\n", v + 0}' <<<"$METRICS"; }
# Packets dropped by the kernel on the UDP sockets a process holds (receive
# buffer full): on loopback the only place a datagram can be lost.
sock_drops() {
	local pid=$1
	ls -l "/proc/$pid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' >"$WORK/inodes.$pid" || true
	awk 'NR == FNR {want[$1] = 1; next} FNR > 1 && ($10 in want) {d += $NF} END {print d + 0}' \
		"$WORK/inodes.$pid" /proc/net/udp /proc/net/udp6 2>/dev/null || echo 0
}
# A value of the last row of a SIPp statistics CSV, by column name.
csv_last() {
	[[ -s $1 ]] || {
		echo 0
		return
	}
	awk -F';' -v c="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) col = i; next} {v = $col} END {print (col ? v : 0) + 0}' "$1"
}
csv_last_str() { awk -F';' -v c="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) col = i; next} {v = $col} END {print v}' "$1"; }
# SIPp durations are HH:MM:SS:micro.
dur_ms() { awk -F: '{printf "%.1f\n", ($1 * 3600 + $2 * 60 + $3) * 1000 + $4 / 1000}' <<<"${1:-0:0:0:0}"; }
calc() { awk "BEGIN {printf \"$1\n\", $2}"; }
# A table: header and rows with '|' between cells, aligned.
table() {
	if have column; then
		printf '%s\n' "$@" | column -t -s'|' -o' | '
	else
		printf '%s\n' "$@"
	fi
	echo
}

sipp_bg() { # name, then sipp arguments; sets SIPP_PID
	local name=$1
	shift
	ctrl_port
	(cd "$WORK" && "$SIPP" "$@" -recv_timeout 15000 -i 127.0.0.1 -mi 127.0.0.1 -p "$SIPP_PORT" -cp "$SIPP_CTRL" -mp "$SIPP_MP" \
		-trace_stat -stf "$OUT/$name.csv" -fd 1 -trace_screen -screen_file "$OUT/$name.screen" \
		-trace_err -error_file "$OUT/$name.errors" -bg "127.0.0.1:$SIP_PORT" >"$OUT/$name.out" 2>&1) || true
	# (In background mode SIPp's exit status says nothing: it prints its
	# pid and the parent leaves.)
	SIPP_PID=$(grep -o 'PID=\[[0-9]*' "$OUT/$name.out" | tr -dc 0-9)
	[[ -n $SIPP_PID ]] || die "sipp did not report its pid: $(head -c 300 "$OUT/$name.out")"
	SIPP_PIDS+=("$SIPP_PID")
}
wait_pid() { # pid timeout_s
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill "$1" 2>/dev/null || true
	return 1
}
wait_idle() { # timeout_s: until the server has no call left
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		scrape
		(($(metric hotline_active_calls) == 0)) && return 0
		sleep 0.1
	done
	return 1
}
# CPU of the PostgreSQL processes on this machine (the CDR writer's load
# lands there; 0 when the database is elsewhere).
# Records the CDR writer dropped so far (it logs a running total).
cdr_dropped() {
	local v
	v=$(grep -o 'dropped_total=[0-9]*' "$OUT/server.log" 2>/dev/null | tail -n 1 | tr -dc 0-9)
	echo "${v:-0}"
}
# A snapshot is "pid ticks" lines; the delta counts the processes present in
# both, so a backend that exits (another program's) does not subtract.
pg_ticks() { awk '$2 == "(postgres)" {print $1, $14 + $15}' /proc/[0-9]*/stat 2>/dev/null || true; }
pg_delta() { awk 'NR == FNR {a[$1] = $2; next} ($1 in a) {d += $2 - a[$1]} END {print d + 0}' <(echo "$1") <(echo "$2"); }

# ---- a quiet machine ------------------------------------------------------------

# Everything else running on the box competes with SIPp and the server for
# the same CPUs: wait (a while) for it to calm down, and report it.
busy_pct() { # seconds: CPU busy over that time, % of the whole machine
	local b0 t0 b1 t1
	read -r b0 t0 < <(sys_ticks)
	sleep "$1"
	read -r b1 t1 < <(sys_ticks)
	calc "%.0f" "($b1 - $b0) / ($t1 - $t0 + 0.0001) * 100"
}
# The waits share one budget (BENCH_QUIET_WAIT seconds for the whole run),
# so a machine that never calms down still finishes in time.
QUIET_LEFT=${BENCH_QUIET_WAIT:-240}
wait_quiet() { # what: waits until the machine is under 15% busy; sets BUSY
	local waited=0
	BUSY=$(busy_pct 2)
	while ((BUSY > 15 && QUIET_LEFT > 0)); do
		((waited == 0)) && log "machine ${BUSY}% busy before $1; waiting (up to ${QUIET_LEFT}s left) for it to calm down"
		BUSY=$(busy_pct 3)
		waited=$((waited + 3))
		QUIET_LEFT=$((QUIET_LEFT - 3))
	done
	((BUSY > 15)) && log "warning: machine ${BUSY}% busy with other work before $1"
	return 0
}
wait_quiet "the benchmark"
BUSY0=$BUSY

# ---- idle baseline -------------------------------------------------------------

sleep 3
scrape
IDLE_RSS=$(rss_kb "$SERVER_PID")
IDLE_THREADS=$(threads "$SERVER_PID")
IDLE_HEAP=$(metric go_memstats_heap_inuse_bytes)
IDLE_GOR=$(metric go_goroutines)
c0=$(cpu_ticks "$SERVER_PID")
sleep 5
c1=$(cpu_ticks "$SERVER_PID")
IDLE_CPU=$(calc "%.2f" "($c1 - $c0) / $HZ / 5 * 100")
log "idle: RSS ${IDLE_RSS} kB, $IDLE_THREADS threads, $IDLE_GOR goroutines, CPU ${IDLE_CPU}% of a core"

SUMMARY=$OUT/summary.txt
{
	echo "Hotline SIPp benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $NCPU x $CPU_MODEL, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(uname -r); $($SIPP -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1); fds $FDS"
	echo "server: $BIN, limits max_calls $MAX_CALLS max_cps $MAX_CPS, idle RSS $((IDLE_RSS / 1024)) MB, $IDLE_THREADS threads, idle CPU ${IDLE_CPU}%"
	echo "SIPp and the server share the $NCPU CPUs; the machine was ${BUSY0}% busy with other work just before the start."
	echo
} >"$SUMMARY"

# ---- A: concurrent IVR calls with media ----------------------------------------

printf '%s\n' "A. Concurrent calls in the IVR, G.711 both ways (hold ${HOLD}s, ${WINDOW}s window while all are up)" >>"$SUMMARY"
A_HDR='calls|reached|ok|failed|srv CPU %core|CPU %/call|sipp CPU %core|pg CPU %core|box busy %|others %core|RSS MB|RSS KB/call|KB/added call|heap in use KB/call|threads|goroutines|rx lost (CDR)|srv sock drops|tx % of prompts|at SIPp pkt/s/call|max jitter ms|min MOS|causes'
A_ROWS=()
level_failed=
prev_n=0
prev_rss=0
top_level=$(tr ' ' '\n' <<<"$LEVELS" | grep . | tail -n 1)

for N in $LEVELS; do
	if [[ -n $level_failed ]]; then
		A_ROWS+=("$N|skipped (level $level_failed failed)")
		continue
	fi
	alive || {
		A_ROWS+=("$N|server not running")
		level_failed=$N
		continue
	}
	wait_quiet "level $N"
	rate=$(((N + RAMP - 1) / RAMP))
	caller=+1999$(printf %07d "$N")
	name=ivr-$N
	log "A: $N calls (ramp $rate/s, hold ${HOLD}s)"
	t_start=$(date +%s.%N)
	sipp_bg "$name" -sf "$ROOT/bench/ivr-call.xml" -s +15550100 -key caller "$caller" \
		-d $((HOLD * 1000)) -l "$N" -m "$N" -r "$rate" -rtp_threadtasks 64 \
		-max_recv_loops 10000 -max_sched_loops 10000 -timeout $((HOLD + RAMP + 60))
	pid=$SIPP_PID
	# Wait until every call is up (or give up when the ramp is long over).
	reached=0
	for ((i = 0; i < (RAMP + 15) * 10; i++)); do
		scrape
		reached=$(metric hotline_active_calls)
		((reached >= N)) && break
		alive || break
		sleep 0.1
	done
	sleep "$SETTLE"
	# Window.
	scrape
	h0=$(metric go_memstats_heap_inuse_bytes)
	s0=$(cpu_ticks "$SERVER_PID")
	p0=$(cpu_ticks "$pid")
	d0=$(sock_drops "$pid")
	g0=$(pg_ticks)
	read -r b0 t0 < <(sys_ticks)
	w0=$(date +%s.%N)
	perf_pid=
	if [[ ${BENCH_PERF:-} == 1 && $N == "$top_level" ]] && have perf; then
		perf record -F 499 -g -o "$OUT/perf-$N.data" -p "$SERVER_PID" -- sleep "$WINDOW" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	sleep "$WINDOW"
	s1=$(cpu_ticks "$SERVER_PID")
	p1=$(cpu_ticks "$pid")
	g1=$(pg_ticks)
	read -r b1 t1 < <(sys_ticks)
	w1=$(date +%s.%N)
	kill -USR2 "$pid" 2>/dev/null || true # a screen dump for the record
	scrape
	active=$(metric hotline_active_calls)
	heap=$(metric go_memstats_heap_inuse_bytes)
	gor=$(metric go_goroutines)
	rss=$(rss_kb "$SERVER_PID")
	thr=$(threads "$SERVER_PID")
	drops_srv=$(sock_drops "$SERVER_PID")
	drops_sipp=$(sock_drops "$pid")
	[[ -n $perf_pid ]] && wait "$perf_pid" 2>/dev/null || true
	sleep 0.5 # the screen dump
	cp "$OUT/$name.screen" "$OUT/$name.window.screen" 2>/dev/null || true
	el=$(calc "%.3f" "$w1 - $w0")
	# Calls end at HOLD; SIPp exits once all are done.
	left=$(calc "%.0f" "$HOLD + $RAMP + 40 - ($(date +%s.%N) - $t_start)")
	wait_pid "$pid" "$((left > 10 ? left : 10))" || log "sipp still running; stopped"
	wait_idle 20 || log "calls still active on the server after the level"
	# The CDR writer is asynchronous: wait for the end rows.
	for ((i = 0; i < 100; i++)); do
		[[ $(sql "SELECT count(*) FROM calls WHERE from_number = '$caller' AND started_at >= '$T0' AND ended_at IS NULL") == 0 ]] && break
		sleep 0.2
	done
	IFS='|' read -r cdr_n sent recv lost maxj minmos secs <<<"$(sql "SELECT count(*), coalesce(sum(rtp_packets_sent),0), coalesce(sum(rtp_packets_received),0),
		coalesce(sum(rtp_lost),0), round(coalesce(max(rtp_max_jitter_ms),0)::numeric,1), round(coalesce(min(mos),0)::numeric,2),
		coalesce(sum(extract(epoch FROM ended_at - answered_at)),0)
		FROM calls WHERE from_number = '$caller' AND started_at >= '$T0'")"
	# What the server should have sent: each prompt event plays its prompt
	# until it ends or the next event (barge-in, hang-up) cuts it.
	expected=$(sql "WITH d(prompt, secs) AS (VALUES $PROMPT_SECS),
		ev AS (SELECT e.at, e.kind, e.data->>'prompt' AS prompt, lead(e.at) OVER (PARTITION BY e.call_id ORDER BY e.seq) AS next_at
			FROM call_events e JOIN calls c ON c.id = e.call_id AND c.tenant_id = e.tenant_id
			WHERE c.from_number = '$caller' AND c.started_at >= '$T0')
		SELECT coalesce(sum(ceil(least(d.secs, coalesce(extract(epoch FROM ev.next_at - ev.at), d.secs)) / 0.02)), 0)::bigint
		FROM ev JOIN d ON d.prompt = ev.prompt WHERE ev.kind = 'prompt'")
	causes=$(sql "SELECT string_agg(c || ':' || n, ' ' ORDER BY n DESC) FROM (SELECT coalesce(hangup_cause,'open') c, count(*) n FROM calls
		WHERE from_number = '$caller' AND started_at >= '$T0' GROUP BY 1) x")
	ok=$(csv_last "$OUT/$name.csv" 'SuccessfulCall(C)')
	failed=$(csv_last "$OUT/$name.csv" 'FailedCall(C)')
	created=$(csv_last "$OUT/$name.csv" 'TotalCallCreated')
	srv_cpu=$(calc "%.1f" "($s1 - $s0) / $HZ / $el * 100")
	per_call=$(calc "%.4f" "($s1 - $s0) / $HZ / $el * 100 / $N")
	sipp_cpu=$(calc "%.1f" "($p1 - $p0) / $HZ / $el * 100")
	pg_cpu=$(calc "%.1f" "$(pg_delta "$g0" "$g1") / $HZ / $el * 100")
	busy=$(calc "%.0f" "($b1 - $b0) / ($t1 - $t0 + 0.0001) * 100")
	# CPU used by none of them: other processes, and softirq time the
	# kernel does not charge to a process. Above 25% of a core the window
	# is marked: someone else's work was competing for the CPUs.
	others=$(calc "%.0f" "($b1 - $b0) / ($t1 - $t0 + 0.0001) * 100 * $NCPU - $srv_cpu - $sipp_cpu - $pg_cpu")
	((others > 25)) && others="$others*"
	kb_call=$(calc "%.1f" "($rss - $IDLE_RSS) / $N")
	# Marginal memory: RSS growth from the previous level, per added call.
	# It does not depend on the idle baseline (start-up garbage the
	# runtime has not returned yet, memory kept from earlier levels).
	marg=-
	((prev_n > 0 && N > prev_n)) && marg=$(calc "%.1f" "($rss - $prev_rss) / ($N - $prev_n)")
	prev_n=$N
	prev_rss=$rss
	heap_call=$(calc "%.1f" "($heap - $IDLE_HEAP) / 1024 / $N")
	srv_pps=$(calc "%.1f" "$sent / ($secs + 0.0001)")
	# SIPp 3.6.1's rtp_stream sends every call's audio from its -mp socket
	# and never reads it: once its queue is full, each datagram the server
	# sends there is counted as a drop, so the drops in the window are what
	# arrived at SIPp (SIPp cannot count them itself).
	in_pps=$(calc "%.1f" "($drops_sipp - $d0) / $el / $N")
	tx_pct=$(calc "%.1f" "$sent / ($expected + 0.0001) * 100")
	echo "level=$N reached=$reached active_end=$active created=$created ok=$ok failed=$failed window=${el}s srv_ticks=$((s1 - s0)) sipp_ticks=$((p1 - p0)) rss_kb=$rss heap=$heap gor=$gor thr=$thr drops=$drops_srv/$drops_sipp cdr=$cdr_n sent=$sent expected=$expected recv=$recv lost=$lost call_s=$secs srv_pps=$srv_pps sipp_drops=$d0->$drops_sipp causes=$causes" >>"$OUT/levels.log"
	A_ROWS+=("$N|$reached|$ok|$failed|$srv_cpu|$per_call|$sipp_cpu|$pg_cpu|$busy|$others|$((rss / 1024))|$kb_call|$marg|$heap_call|$thr|$gor|$lost|$drops_srv|$tx_pct|$in_pps|$maxj|$minmos|$causes")
	log "A: $N: reached $reached, ok $ok, failed $failed, server ${srv_cpu}% (${per_call}%/call), sipp ${sipp_cpu}%, RSS $((rss / 1024)) MB, lost $lost"
	if ! alive || ((reached < N)) || awk "BEGIN {exit !($failed > 0.001 * $N)}"; then
		level_failed=$N
	fi
done
table "$A_HDR" "${A_ROWS[@]}" >>"$SUMMARY"
if [[ ${BENCH_PERF:-} == 1 && -s $OUT/perf-$top_level.data ]]; then
	perf report -i "$OUT/perf-$top_level.data" --no-children --percent-limit 0.7 --stdio 2>/dev/null |
		grep -v '^$' | head -n 400 >"$OUT/perf-$top_level.txt" || true
fi

# ---- B: call setup rate ----------------------------------------------------------

printf '%s\n' "B. Call setup rate (INVITE, 200, ACK, 1 s in the IVR, BYE; ${RATE_SECS}s per rate; server limits.max_cps $MAX_CPS)" >>"$SUMMARY"
B_HDR='rate/s|achieved/s|calls|answered|503|failed|CDR rows dropped|setup ms avg|srv CPU %core|sipp CPU %core|pg CPU %core|box busy %|others %core|RSS before MB|RSS peak MB|RSS after MB|peak active|served again after s'
B_ROWS=()
alive && wait_idle 30 || true
scrape
RSS_B0=$(rss_kb "$SERVER_PID")
HEAP_B0=$(metric go_memstats_heap_inuse_bytes)
for R in $RATES; do
	alive || {
		B_ROWS+=("$R|server not running")
		continue
	}
	wait_quiet "rate $R"
	n=$((R * RATE_SECS))
	caller=+1998$(printf %07d "$R")
	name=setup-$R
	log "B: $R calls/s for ${RATE_SECS}s"
	scrape
	r503_0=$(metric 'hotline_sip_responses_total{code="503"}')
	cdr_drop0=$(cdr_dropped)
	rss0=$(rss_kb "$SERVER_PID")
	s0=$(cpu_ticks "$SERVER_PID")
	g0=$(pg_ticks)
	read -r b0 t0 < <(sys_ticks)
	w0=$(date +%s.%N)
	sipp_bg "$name" -sf "$ROOT/bench/setup-call.xml" -s +15550100 -key caller "$caller" \
		-d 1000 -r "$R" -l $((R * 3)) -m "$n" -max_recv_loops 10000 -max_sched_loops 10000 \
		-timeout $((RATE_SECS * 3 + 30))
	pid=$SIPP_PID
	peak=0
	p_last=0
	rss_peak=$rss0
	deadline=$(($(date +%s) + RATE_SECS * 2 + 45))
	while kill -0 "$pid" 2>/dev/null; do
		if (($(date +%s) > deadline)); then
			log "sipp still running ${RATE_SECS}s + 45s after the start; stopped"
			kill "$pid" 2>/dev/null || true
			sleep 1
			kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
			break
		fi
		p_last=$(cpu_ticks "$pid")
		scrape
		a=$(metric hotline_active_calls)
		((a > peak)) && peak=$a
		r=$(rss_kb "$SERVER_PID")
		((r > rss_peak)) && rss_peak=$r
		echo "$(date +%s.%N) rate=$R active=$a rss_kb=$r heap=$(metric go_memstats_heap_inuse_bytes) gor=$(metric go_goroutines)" >>"$OUT/rates-samples.log"
		sleep 0.5
	done
	w1=$(date +%s.%N)
	s1=$(cpu_ticks "$SERVER_PID")
	g1=$(pg_ticks)
	read -r b1 t1 < <(sys_ticks)
	# Recovery: the first call that gets a 200 again after the overload,
	# timed from the end of the load to the INVITE of that call (probes are
	# single calls, one after the other; each takes ~1 s of SIPp start-up
	# and teardown).
	recover=-
	scrape
	if (($(metric 'hotline_sip_responses_total{code="503"}') > r503_0)); then
		tr0=$(date +%s.%N)
		tr_end=$(($(date +%s) + 30))
		while (($(date +%s) < tr_end)); do
			scrape
			b503=$(metric 'hotline_sip_responses_total{code="503"}')
			ctrl_port
			tp=$(date +%s.%N)
			if (cd "$WORK" && timeout 5 "$SIPP" -sf "$ROOT/bench/setup-call.xml" -s +15550100 -key caller +19970000000 \
				-d 0 -m 1 -r 1 -i 127.0.0.1 -mi 127.0.0.1 -p "$SIPP_PORT" -cp "$SIPP_CTRL" -mp "$SIPP_MP" \
				-recv_timeout 3000 -timeout 4 "127.0.0.1:$SIP_PORT" >/dev/null 2>&1 </dev/null); then
				scrape
				if (($(metric 'hotline_sip_responses_total{code="503"}') == b503)); then
					# When the probe that got through was sent.
					recover=$(calc "%.2f" "$tp - $tr0")
					break
				fi
			fi
			sleep 0.2
		done
	fi
	wait_idle 30 || log "calls still active after rate $R"
	scrape
	r503=$(($(metric 'hotline_sip_responses_total{code="503"}') - r503_0))
	rss1=$(rss_kb "$SERVER_PID")
	el=$(calc "%.3f" "$w1 - $w0")
	created=$(csv_last "$OUT/$name.csv" 'TotalCallCreated')
	ok=$(csv_last "$OUT/$name.csv" 'SuccessfulCall(C)')
	failed=$(csv_last "$OUT/$name.csv" 'FailedCall(C)')
	# Answered: the 200s SIPp received (its screen, dumped at exit); the
	# CDRs can miss calls when the writer's queue overflows.
	answered=$(awk '/ 200 <-+ +E-RTD1 / {print $4; exit}' "$OUT/$name.screen" 2>/dev/null)
	answered=${answered:-0}
	cdr_answered=$(sql "SELECT count(*) FROM calls WHERE from_number = '$caller' AND started_at >= '$T0' AND answered_at IS NOT NULL")
	cdr_drop=$(($(cdr_dropped) - cdr_drop0))
	elapsed_c=$(csv_last_str "$OUT/$name.csv" 'ElapsedTime(C)')
	# Achieved rate: calls over the time SIPp took to create them (the
	# first statistics row, one per second, where the count is final).
	send_s=$(awk -F';' -v n="$created" 'NR == 1 {for (i = 1; i <= NF; i++) {if ($i == "TotalCallCreated") c = i; if ($i == "ElapsedTime(C)") e = i}; next}
		c && $c + 0 >= n {split($e, t, ":"); print t[1] * 3600 + t[2] * 60 + t[3] + (t[4] ? t[4] / 1e6 : 0); exit}' "$OUT/$name.csv" 2>/dev/null)
	achieved=$(calc "%.0f" "$created / (${send_s:-0} > 1 ? ${send_s:-0} : $el)")
	setup_ms=$(dur_ms "$(csv_last_str "$OUT/$name.csv" 'ResponseTime1(C)')")
	srv_cpu=$(calc "%.1f" "($s1 - $s0) / $HZ / $el * 100")
	sipp_cpu=$(calc "%.1f" "$p_last / $HZ / $el * 100")
	pg_cpu=$(calc "%.1f" "$(pg_delta "$g0" "$g1") / $HZ / $el * 100")
	busy=$(calc "%.0f" "($b1 - $b0) / ($t1 - $t0 + 0.0001) * 100")
	others=$(calc "%.0f" "($b1 - $b0) / ($t1 - $t0 + 0.0001) * 100 * $NCPU - $srv_cpu - $sipp_cpu - $pg_cpu")
	((others > 25)) && others="$others*"
	echo "rate=$R created=$created ok=$ok answered=$answered cdr_answered=$cdr_answered cdr_dropped=$cdr_drop 503=$r503 failed=$failed elapsed=${el}s sipp_elapsed=$elapsed_c setup_ms=$setup_ms rss=$rss0->$rss1 peak_active=$peak recover=$recover" >>"$OUT/rates.log"
	B_ROWS+=("$R|$achieved|$created|$answered|$r503|$failed|$cdr_drop|$setup_ms|$srv_cpu|$sipp_cpu|$pg_cpu|$busy|$others|$((rss0 / 1024))|$((rss_peak / 1024))|$((rss1 / 1024))|$peak|$recover")
	log "B: $R/s: created $created, answered $answered, 503 $r503, failed $failed, server ${srv_cpu}%, RSS $((rss0 / 1024))->$((rss1 / 1024)) MB"
done
# Finished INVITE/BYE transactions live 32 s (64*T1) in the transaction
# layer, and an idle Go program collects garbage only every 2 minutes:
# memory is judged once the transactions have expired and a collection has
# run after that (go_gc_duration_seconds_count moves).
sleep 35
scrape
gc0=$(metric go_gc_duration_seconds_count)
for ((i = 0; i < 130; i++)); do
	scrape
	(($(metric go_gc_duration_seconds_count) > gc0)) && break
	sleep 1
done
sleep 1
scrape
RSS_B2=$(rss_kb "$SERVER_PID")
HEAP_B2=$(metric go_memstats_heap_inuse_bytes)
GOR_B2=$(metric go_goroutines)
{
	table "$B_HDR" "${B_ROWS[@]}"
	echo "memory: RSS $((RSS_B0 / 1024)) MB before the rates, $((RSS_B2 / 1024)) MB once the last burst's transactions expired and a GC ran; Go heap in use $((HEAP_B0 / 1048576)) -> $((HEAP_B2 / 1048576)) MB; goroutines $GOR_B2 (idle $IDLE_GOR)"
	echo
	alive && echo "server: running at the end, $(threads "$SERVER_PID") threads" || echo "server: NOT RUNNING at the end (see server.log)"
	echo "server log: $(grep -c . "$OUT/server.log" || true) lines at warn and above ($(grep -c 'level=ERROR' "$OUT/server.log" || true) errors)"
} >>"$SUMMARY"

# ---- summary -------------------------------------------------------------------

echo
cat "$SUMMARY"
log "details: $OUT (levels.log, rates.log, SIPp CSVs and screens, server.log)"
exit 0
