# The account the Trove guest agent runs as. Trove's taskmanager injects
# its files owned by [DEFAULT] injected_config_owner, which defaults to
# "ubuntu"; cloud-init fails to write them if that account does not exist,
# so the default follows Trove rather than the distribution.
export DIB_TROVE_IT_GUEST_USER=${DIB_TROVE_IT_GUEST_USER:-ubuntu}

# Trove's guests read their files from a config drive or the metadata
# service; NoCloud lets the same image boot outside a cloud (the boot test
# attaches a NoCloud seed).
export DIB_CLOUD_INIT_DATASOURCES=${DIB_CLOUD_INIT_DATASOURCES:-"ConfigDrive, OpenStack, NoCloud"}

# dib-python still picks Python 2 for Debian; every supported release has 3 only.
export DIB_PYTHON_VERSION=${DIB_PYTHON_VERSION:-3}

# debootstrap-based images otherwise get fixed eth0/eth1 stanzas, which name
# interfaces systemd does not create; cloud-init writes the real ones.
export DIB_APT_MINIMAL_CREATE_INTERFACES=${DIB_APT_MINIMAL_CREATE_INTERFACES:-0}
