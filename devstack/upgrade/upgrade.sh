#!/bin/bash
# trove-it's grenade upgrade step: trove-it is a test harness, so nothing of
# it is upgraded; it is reinstalled from the target tree so that the post-
# upgrade phases run the same code as the pre-upgrade ones did.

set -o errexit

source "$GRENADE_DIR/grenaderc"
source "$GRENADE_DIR/functions"
source "$TARGET_DEVSTACK_DIR/stackrc"
source "$(dirname "$0")/settings"

pip_install -e "$DEST/trove-it"
