# Shared helpers for dirsnap's scripts. Source it; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY_REQUIREMENTS="$ROOT/scripts/py/requirements.txt"

say() { printf '==> %s\n' "$*" >&2; }

# Where cargo puts what it builds: $CARGO_TARGET_DIR (relative to where the script was
# started), build.target-dir of a cargo config, or target/ — asked of cargo itself, so a
# script runs the binaries it has just built wherever they went. A relative
# $CARGO_TARGET_DIR is exported absolute: the scripts change directory before building.
_target_dir() {
  local dir=""
  dir="$(cargo metadata --offline --no-deps --format-version 1 --manifest-path "$ROOT/Cargo.toml" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null)" || dir=""
  if [[ -z "$dir" ]]; then
    dir="${CARGO_TARGET_DIR:-$ROOT/target}"
    [[ "$dir" == /* ]] || dir="$PWD/$dir"
  fi
  printf '%s\n' "$dir"
}
TARGET_DIR="$(_target_dir)"
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
  export CARGO_TARGET_DIR="$TARGET_DIR"
fi

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

# apt-get, waiting up to 5 minutes for another apt-get or dpkg run (unattended upgrades, a
# second script) to release its locks instead of failing at once. DPkg::Lock::Timeout makes
# apt-get wait for the dpkg lock, but `apt-get update` fails at once on the lists lock
# (apt 2.6), so that failure is retried here.
_apt_get() {
  local deadline=$((SECONDS + 300)) out rc
  while :; do
    rc=0
    out="$(apt-get -o DPkg::Lock::Timeout=300 "$@" 2>&1)" || rc=$?
    if ((rc == 0)); then
      [[ -z "$out" ]] || printf '%s\n' "$out" >&2
      return 0
    fi
    if grep -q 'Could not get lock' <<<"$out" && ((SECONDS < deadline)); then
      say "another apt-get or dpkg is running ($(grep -m1 -o 'held by process [0-9]* ([^)]*)' <<<"$out" || echo 'lock held')); waiting for it"
      sleep 5
      continue
    fi
    printf '%s\n' "$out" >&2
    return "$rc"
  done
}

# Installs the Debian packages named that are missing (as root; otherwise fails naming them).
# Every script installs through here: it waits for another apt/dpkg run to finish.
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
  _apt_get update -qq
  _apt_get install -y -qq --no-install-recommends "${missing[@]}"
}
