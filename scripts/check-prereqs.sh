#!/usr/bin/env bash
# Check the tools one track of tutorial.md needs, and say how to get each one that is missing.
#   scripts/check-prereqs.sh kind    docker (an engine that answers, on cgroup v2), kind, kubectl
#                                    within one minor of the node image, curl, openssl or shasum
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
    check_docker_host
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

  # kubectl is supported within one minor of the cluster: the node image's minor, +-1.
  local node_minor lo hi range
  node_minor="$(sed -n 's/^kindest\/node:v1\.\([0-9][0-9]*\)\..*/\1/p' <<<"$KIND_NODE_IMAGE")"
  lo=$((node_minor - 1))
  hi=$((node_minor + 1))
  range="1.$lo-1.$hi (within one minor of the 1.$node_minor cluster)"
  if ! command -v kubectl >/dev/null 2>&1; then
    miss kubectl "install kubectl $range: https://kubernetes.io/docs/tasks/tools/"
  else
    local kcv minor
    kcv="$(kubectl version --client 2>/dev/null | sed -n '1s/^Client Version: //p' || true)"
    minor="$(sed -n 's/^v1\.\([0-9][0-9]*\).*/\1/p' <<<"$kcv")"
    if [ -z "$minor" ]; then
      miss kubectl "could not read its version from 'kubectl version --client'; install kubectl $range: https://kubernetes.io/docs/tasks/tools/"
    elif [ "$minor" -lt "$lo" ] || [ "$minor" -gt "$hi" ]; then
      miss kubectl "found $kcv; install kubectl $range: https://kubernetes.io/docs/tasks/tools/"
    else
      ok kubectl "$kcv"
    fi
  fi

  if ! command -v curl >/dev/null 2>&1; then
    miss curl "install curl with your package manager (the Linkerd and linkerd-smi installers are fetched with it)"
  else
    ok curl "$(curl --version | awk 'NR == 1 {print $2}')"
  fi

  # The linkerd-smi installer checks its download's sha256 with one of these, and stops without.
  if command -v openssl >/dev/null 2>&1; then
    ok openssl "$(command -v openssl) (the linkerd-smi installer checks its download with it)"
  elif command -v shasum >/dev/null 2>&1; then
    ok shasum "$(command -v shasum) (the linkerd-smi installer checks its download with it)"
  else
    miss openssl "install openssl or shasum (perl) with your package manager: the linkerd-smi installer stops without a checksum tool"
  fi
}

# What the engine must offer the node image, and a known kind load failure; needs an answering engine.
check_docker_host() {
  local cgroup driver
  cgroup="$(docker info --format '{{.CgroupVersion}}' 2>/dev/null || true)"
  case "$cgroup" in
    2) ok cgroup "v2" ;;
    1) miss cgroup "the Docker host runs cgroup v1; Kubernetes 1.35 node images need cgroup v2: boot with systemd.unified_cgroup_hierarchy=1, or use a distribution (or Docker Desktop) on cgroup v2" ;;
    *) warn cgroup "docker info does not say which cgroup version the host runs; Kubernetes 1.35 node images need cgroup v2" ;;
  esac
  driver="$(docker info --format '{{.DriverStatus}}' 2>/dev/null || true)"
  if [[ "$driver" == *io.containerd.snapshotter* ]]; then
    # kind #4066, #3795: `kind load docker-image` can fail with "ctr: content digest ... not found".
    warn docker "images live in Docker's containerd image store, where 'kind load docker-image' can fail with 'content digest ... not found' (kind #4066). If it does: docker image save --platform linux/\$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/') IMAGE -o image.tar && kind load image-archive image.tar --name linkerd-smi, or set \"features\": {\"containerd-snapshotter\": false} in /etc/docker/daemon.json and restart Docker"
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
