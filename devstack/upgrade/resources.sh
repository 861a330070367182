#!/bin/bash
# trove-it's grenade resources: each grenade phase runs the trove-it
# upgrade-survival phase of the same name (scenarios/test_upgrade_survival.py)
# against devstack's clouds.yaml, with the state kept in TROVE_IT_UPGRADE_STATE.

set -o errexit

source "$GRENADE_DIR/grenaderc"
source "$GRENADE_DIR/functions"
source "$TOP_DIR/openrc" admin admin
source "$(dirname "$0")/settings"

function trove_it_phase {
    local phase=$1
    local side=${2:-pre}
    (cd "$DEST/trove-it" && pytest --cloud=devstack \
        --datastore="$TROVE_IT_DATASTORE_TYPE" --upgrade-phase="$phase" \
        --upgrade-side="$side" --upgrade-state="$TROVE_IT_UPGRADE_STATE")
}

case $1 in
    "create")
        trove_it_phase create
        ;;
    "verify")
        trove_it_phase verify "$2"
        ;;
    "verify_noapi")
        trove_it_phase verify_noapi "$2"
        ;;
    "destroy")
        trove_it_phase destroy
        ;;
    "force_destroy")
        trove_it_phase destroy || true
        ;;
esac
