# Shared by run.sh and test.sh: a virtualenv in .venv, reinstalled only when requirements change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

ensure_venv() {
  local reqs="$1" stamp=".venv/.installed-$(basename "$1")"
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating virtualenv in .venv"
    "$PYTHON" -m venv .venv
  fi
  local want
  want="$(cat requirements*.txt | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing $reqs (first run takes a few minutes: TensorFlow is large)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$reqs"
    echo "$want" > "$stamp"
  fi
}

apt_install() {
  echo "==> installing Debian packages: $*"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null) \
    || { echo "could not install $* with apt-get (run as root on Debian/Ubuntu, or install them yourself)" >&2; return 1; }
}

ensure_redis() {
  local port="${1:-6379}"
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server redis-tools
  if ! redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    echo "==> starting Redis on 127.0.0.1:$port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "Redis did not start" >&2; return 1
  fi
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql postgresql-client
    # A fresh cluster asks for passwords over TCP; the test database is local and throwaway: trust loopback.
    local hba
    hba="$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)"
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main restart || true
  fi
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "==> starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5432 -q && return 0; sleep 0.2; done
    echo "PostgreSQL did not start" >&2; return 1
  fi
}
