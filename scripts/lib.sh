# Shared helpers for dirsnap's scripts. Source it; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY_REQUIREMENTS="$ROOT/scripts/py/requirements.txt"

say() { printf '==> %s\n' "$*" >&2; }

# Cleanup actions run in reverse order on exit, so several steps can each register theirs
# (a trap would replace the previous one).
_ON_EXIT=()
_run_on_exit() {
  local i
  for ((i = ${#_ON_EXIT[@]} - 1; i >= 0; i--)); do
    eval "${_ON_EXIT[i]}" || true
  done
}
on_exit() {
  _ON_EXIT+=("$1")
  trap _run_on_exit EXIT
}

# Creates (or refreshes, when requirements.txt changed) the Python venv with the independent
# peers the tests use: pyarrow and DuckDB to read our Parquet.
ensure_venv() {
  local stamp="$VENV/.requirements.sha256"
  local want
  want="$(sha256sum "$PY_REQUIREMENTS" | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  say "creating Python venv in .venv ($(tr '\n' ' ' < "$PY_REQUIREMENTS"))"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$PY_REQUIREMENTS"
  echo "$want" > "$stamp"
}

# Builds the workspace's binaries in debug mode (fast to build; benchmarks build release).
build_debug() {
  say "building dirsnap (cargo build --locked)"
  cargo build --locked --quiet --workspace --bins
}

# Installs the Debian packages named that are missing (as root; otherwise fails naming them).
# Waits up to 5 minutes for another apt/dpkg run to release its lock instead of failing.
ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ $EUID -ne 0 ]]; then
    echo "packages missing (${missing[*]}) and not root: install them with apt-get" >&2
    return 1
  fi
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
}
