#!/usr/bin/env bash
# Check the tools one track of tutorial.md needs, and say how to get each one that is missing.
#   scripts/check-prereqs.sh kind    docker (with an engine that answers), kind, kubectl, curl
#   scripts/check-prereqs.sh local   node 20+ and the npm dependencies
# Prints one line per tool; exits 1 if anything is missing, 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

track="${1:-}"
missing=0

ok() { printf 'ok       %-8s %s\n' "$1" "$2"; }
miss() { printf 'MISSING  %-8s %s\n' "$1" "$2"; missing=$((missing + 1)); }
warn() { printf 'note     %-8s %s\n' "$1" "$2"; }

check_node() {
  if ! command -v node >/dev/null 2>&1; then
    miss node "install Node.js 20 or later: https://nodejs.org/en/download"
    return
  fi
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 20 ]; then
    miss node "found $(node --version); Node.js 20 or later is needed: https://nodejs.org/en/download"
  else
    ok node "$(node --version)"
  fi
  # The local "before the mesh" step runs the client for a few seconds with timeout(1).
  if command -v timeout >/dev/null 2>&1; then
    ok timeout "$(command -v timeout)"
  else
    miss timeout "install GNU coreutils (macOS: brew install coreutils, then put its gnubin folder on PATH)"
  fi
  if [ -d node_modules/tsx ] && [ -d node_modules/@grpc/grpc-js ]; then
    ok npm "dependencies installed"
  else
    miss npm "run: npm ci"
  fi
}

check_kind_track() {
  # shellcheck source=versions.sh
  source scripts/versions.sh

  if ! command -v docker >/dev/null 2>&1; then
    miss docker "install Docker Engine (or Docker Desktop): https://docs.docker.com/engine/install/"
  elif ! docker info >/dev/null 2>&1; then
    # The CLI is there but nothing answers: no daemon, or no permission on its socket.
    miss docker "the docker CLI is installed but the engine does not answer: start it, or add your user to the docker group"
  else
    ok docker "engine $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
  fi

  if ! command -v kind >/dev/null 2>&1; then
    miss kind "install kind $KIND_VERSION: https://kind.sigs.k8s.io/docs/user/quick-start/#installation (or: go install sigs.k8s.io/kind@$KIND_VERSION)"
  else
    local kv
    kv="$(kind version 2>/dev/null | awk '{print $2}')"
    ok kind "$kv"
    # The node image is pinned by digest for KIND_VERSION; other releases may not run it.
    [ "$kv" = "$KIND_VERSION" ] || warn kind "the node image is pinned for kind $KIND_VERSION; with $kv, kind may refuse or misbehave"
  fi

  if ! command -v kubectl >/dev/null 2>&1; then
    miss kubectl "install kubectl 1.33-1.35 (within one minor of the 1.34 cluster): https://kubernetes.io/docs/tasks/tools/"
  else
    local kcv minor
    kcv="$(kubectl version --client 2>/dev/null | sed -n '1s/^Client Version: //p' || true)"
    ok kubectl "$kcv"
    # `kubectl wait --for=create` (used by the demo) needs 1.31 or later.
    minor="$(sed -n 's/^v1\.\([0-9][0-9]*\).*/\1/p' <<<"$kcv")"
    if [ -n "$minor" ] && [ "$minor" -lt 31 ]; then
      miss kubectl "$kcv is too old (the demo uses kubectl wait --for=create, 1.31+); install 1.33-1.35: https://kubernetes.io/docs/tasks/tools/"
    fi
  fi

  if ! command -v curl >/dev/null 2>&1; then
    miss curl "install curl with your package manager (the Linkerd and linkerd-smi installers are fetched with it)"
  else
    ok curl "$(curl --version | awk 'NR == 1 {print $2}')"
  fi
}

case "$track" in
  kind) check_kind_track ;;
  local) check_node ;;
  *)
    echo "usage: scripts/check-prereqs.sh kind|local" >&2
    exit 2
    ;;
esac

if [ "$missing" -gt 0 ]; then
  echo "$missing prerequisite(s) missing for the $track track; install them and run this again." >&2
  exit 1
fi
echo "all prerequisites for the $track track are here."
