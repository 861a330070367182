#!/usr/bin/env bash
# Run trove-tempest-plugin, unchanged, against a fresh local cloud.
#
# Installs tempest, trove-tempest-plugin and barbican-tempest-plugin (the
# SSL tests' key-manager clients) at pinned versions into a virtualenv of
# their own, then runs python -m trove_it.tempest_run in the harness's
# virtualenv: cloud up, tempest.conf from the cloud, the plugin's tests for
# mysql, mariadb and postgresql, a summary per module, a leak check, cloud
# down. Arguments go to trove_it.tempest_run (--regex, --datastores,
# --concurrency, --keep). Exit status: 0 when every failure is on
# tools/tempest_expected_failures.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPEST_PINS=(tempest==47.0.0 trove-tempest-plugin==2.8.0 barbican-tempest-plugin==4.6.0)
venv=${TROVE_IT_TEMPEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/trove-it/tempest-venv}
marker="$venv/.trove-it-pins"

# The harness's python: ./run's .venv, or tox's env (TROVE_IT_PYTHON).
python=${TROVE_IT_PYTHON:-.venv/bin/python}
if [ ! -x "$python" ]; then
    echo "trove-it: no harness virtualenv at $python; run ./run once (it makes .venv)" >&2
    exit 2
fi
if [ ! -f "$marker" ] || [ "$(cat "$marker")" != "${TEMPEST_PINS[*]}" ]; then
    echo "tempest-plugin: installing ${TEMPEST_PINS[*]} into $venv"
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${TEMPEST_PINS[@]}"
    echo "${TEMPEST_PINS[*]}" > "$marker"
fi
exec "$python" -m trove_it.tempest_run --tempest-venv "$venv" "$@"
