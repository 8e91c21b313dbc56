#!/usr/bin/env bash
# Run a command (the compose tests) with a Docker engine and Compose: Debian's docker.io and debootstrap are
# installed if missing (as root), Compose from PyPI if `docker compose` has none, and the daemon is started if none
# answers, and stopped again afterwards. Images, build cache and stand-ins stay in the engine's store between runs.
#   tests/compose/with-engine.sh COMMAND...
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
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
    dockerd --storage-driver overlay2 >.data/dockerd.log 2>&1 &
    daemon=$!
    trap 'kill "$daemon"; wait "$daemon" || true' EXIT
    for _ in $(seq 120); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$daemon" 2>/dev/null || { tail -20 .data/dockerd.log; exit 1; }
        sleep 0.5
    done
    docker info >/dev/null
fi
"$@"
