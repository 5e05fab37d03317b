#!/usr/bin/env bash
# Wait for COUNT new client summary lines in a log, then print them.
#   scripts/await-summaries.sh COUNT COMMAND [ARGS...]
# COMMAND prints the whole log so far (e.g. `kubectl logs -n link deploy/client -c client`
# or `node scripts/local-mesh.mjs logs client`); `COMMAND... -f` prints it and then follows it
# (both of those do). Lines that were there before this script started do not count, so what
# it prints was written after the step before it. Summary lines are the text or json form of
# lib/summary.ts.
# COMMAND runs once to count what is there and, at the same time, once with -f, read as it
# goes: two program starts per wait, not one a second. Starting both together loses nothing:
# the follower prints the log from the top, so whatever the count did not see is new. A
# follower that ends early (no -f, a restarted pod) is started again a second later, counting
# afresh from the top of the log it prints.
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

deadline=$((SECONDS + timeout_s))
follower=''
before=''
exec {count_fd}< <({ "$@" 2>/dev/null || true; } | grep -cE "$pattern" || true)
stop_follower() {
  if [ -n "$follower" ]; then
    kill "$follower" 2>/dev/null || true
    wait "$follower" 2>/dev/null || true
    follower=''
  fi
}
trap stop_follower EXIT

seen=0
while :; do
  # One follower at a time; its output is the whole log from the top, then what is appended.
  exec {fd}< <(exec "$@" -f 2>/dev/null)
  follower=$!
  if [ -z "$before" ]; then
    read -r before <&"$count_fd" || before=0
    exec {count_fd}<&-
  fi
  n=0
  last=()
  while :; do
    left=$((deadline - SECONDS))
    [ "$left" -gt 0 ] || break
    IFS= read -r -t "$left" -u "$fd" line || break
    [[ "$line" =~ $pattern ]] || continue
    n=$((n + 1))
    last+=("$line")
    [ "${#last[@]}" -le "$want" ] || last=("${last[@]:1}")
    if [ "$n" -ge $((before + want)) ]; then
      stop_follower
      printf '%s\n' "${last[@]}"
      exit 0
    fi
  done
  exec {fd}<&-
  stop_follower
  if [ "$n" -gt "$seen" ]; then seen="$n"; fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "await-summaries: no $want new summary line(s) from '$*' within ${timeout_s}s (saw $((seen > before ? seen - before : 0)))" >&2
    exit 1
  fi
  sleep 1
done
