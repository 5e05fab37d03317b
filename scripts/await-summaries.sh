#!/usr/bin/env bash
# Wait for COUNT new client summary lines in a log, then print them.
#   scripts/await-summaries.sh COUNT COMMAND [ARGS...]
# COMMAND prints the whole log so far (e.g. `kubectl logs -n link deploy/client -c client`
# or `node scripts/local-mesh.mjs logs client`); it is run once a second. Lines that were
# there before this script started do not count, so what it prints was written after the
# step before it. Summary lines are the text or json form of lib/summary.ts.
# AWAIT_TIMEOUT (seconds, default 120) bounds the wait; past it: a message and exit 1.
set -euo pipefail

if [ "$#" -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/await-summaries.sh COUNT COMMAND [ARGS...]   (COUNT a whole number >= 1)" >&2
  exit 2
fi
want="$1"
shift
timeout_s="${AWAIT_TIMEOUT:-120}"

# A text summary starts with "summary " (after an optional log prefix); a json one has byVersion.
pattern='(^|[] ])summary [0-9T:.Z-]+ |"byVersion"'

summaries() { { "$@" 2>/dev/null || true; } | grep -E "$pattern" || true; }

before="$(summaries "$@" | wc -l)"
deadline=$((SECONDS + timeout_s))
while :; do
  lines="$(summaries "$@")"
  now="$(printf '%s' "$lines" | grep -c . || true)"
  if [ "$now" -ge $((before + want)) ]; then
    printf '%s\n' "$lines" | tail -n "$want"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "await-summaries: no $want new summary line(s) from '$*' within ${timeout_s}s (saw $((now - before)))" >&2
    exit 1
  fi
  sleep 1
done
