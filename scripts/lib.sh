# Shared helpers for scripts/run, scripts/test and scripts/bench.
# Installs what the project needs on a fresh Debian machine, once.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

# Installs Debian packages that provide the given commands when missing.
#   need_command redis-server redis-server
need_command() {
  local cmd="$1" pkg="$2"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    log "installing $pkg (needed for $cmd)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if [ -z "${APT_UPDATED:-}" ]; then
      $sudo apt-get update -qq
      APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null
  fi
}

need_redis() {
  need_command redis-server redis-server
  need_command redis-cli redis-tools
}

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install the Rust toolchain (rustup) first" >&2
    exit 1
  fi
}

# Waits until a gRPC server answers health checks (via the CLI) or times out.
wait_port() {
  local host="$1" port="$2" tries=100
  while ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || { echo "nothing listening on $host:$port" >&2; return 1; }
    sleep 0.1
  done
}
