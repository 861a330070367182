#!/bin/bash
# The upgrade-survival phases in grenade's order on one local cloud (tox -e
# upgrade): create, verify and verify_noapi before, verify after, destroy.
# The cloud is not upgraded in between; the phases and their hand-over are
# what this checks. The cloud goes at the end, pass or fail.
set -euo pipefail

datastores=${1:-mysql}
cloud=trove-it-upgrade-phases-$$
state=$(mktemp -d)/upgrade-state.json
trove-it cloud up --name "$cloud" >/dev/null
trap 'trove-it cloud down --name "$cloud" >/dev/null; rm -rf "$(dirname "$state")"' EXIT

phase() {
    echo "=== upgrade phase $1 (${2:-pre})"
    pytest -q --datastore="$datastores" --local-cloud="$cloud" --upgrade-state="$state" \
        --upgrade-phase="$1" --upgrade-side="${2:-pre}"
}
phase create
phase verify pre
phase verify_noapi pre
phase verify post
phase destroy
test ! -e "$state" || { echo "destroy left the upgrade state behind" >&2; exit 1; }
