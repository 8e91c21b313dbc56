#!/usr/bin/env bash
# Run a command (the compose tests) with a Docker engine and Compose: Debian's docker.io and debootstrap are
# installed if missing (as root), Compose from PyPI if `docker compose` has none, and the daemon is started if none
# answers, and stopped again afterwards. Images, build cache and stand-ins stay in the engine's store between runs.
#   tests/compose/with-engine.sh COMMAND...
set -euo pipefail
cd "$(dirname "$0")/../.."

# Only what is missing. Debian's docker.io conflicts with Docker CE's packages, which must never be replaced.
missing=()
if ! command -v dockerd >/dev/null; then
    if dpkg-query -W -f '${Status}\n' docker-ce docker-ce-cli 2>/dev/null | grep -q "install ok installed"; then
        echo "Docker CE is installed without its engine (dockerd): install docker-ce, then run this again" >&2
        exit 1
    fi
    missing+=(docker.io)
fi
command -v debootstrap >/dev/null || missing+=(debootstrap)  # for stand-ins, where no registry answers
if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! docker compose version >/dev/null 2>&1; then
    .venv/bin/uv venv --quiet --allow-existing .venv-compose
    .venv/bin/uv pip install --quiet --python .venv-compose/bin/python -r tests/compose/requirements.txt
    plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
    mkdir -p "$plugins"
    ln -sf "$PWD/.venv-compose/bin/docker-compose" "$plugins/docker-compose"
fi

daemon=""
if ! docker info >/dev/null 2>&1; then
    mkdir -p .data
    # A session of its own: Ctrl-C reaches the tests, whose teardown takes their stack down while the daemon is up.
    setsid dockerd --storage-driver overlay2 >.data/dockerd.log 2>&1 &
    daemon=$!
    # The tests' status is the script's, whether or not the daemon is still there to stop.
    stop_daemon() {
        local status=$?
        kill "$daemon" 2>/dev/null || true
        wait "$daemon" 2>/dev/null || true
        exit "$status"
    }
    trap stop_daemon EXIT
    for _ in $(seq 120); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$daemon" 2>/dev/null || { tail -20 .data/dockerd.log; exit 1; }
        sleep 0.5
    done
    docker info >/dev/null
fi
"$@"
