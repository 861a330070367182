#!/bin/bash
# trove-it devstack plugin.
#
# In the extra phase, once Trove is up, it installs trove-it and gives the
# configured datastore version a guest image with trove-it's three image
# commands: build (skipped when TROVE_IT_IMAGE_URL names a file or URL),
# load (upload to Glance and register the version) and activate (make it
# active and the datastore's default).

function install_trove_it {
    if ! command -v trove-it >/dev/null; then
        pip_install -e "$TROVE_IT_DIR[image]"
    fi
}

# Print the path of the guest image to load, building or fetching it first.
function trove_it_image_file {
    local url=$TROVE_IT_IMAGE_URL
    local target
    if [[ -n "$url" && -f "$url" ]]; then
        echo "$url"
        return
    fi
    mkdir -p "$TROVE_IT_IMAGE_DIR"
    if [[ -n "$url" ]]; then
        target=$TROVE_IT_IMAGE_DIR/$(basename "${url%%\?*}")
        curl -fsSL --retry 3 -o "$target" "$url"
        echo "$target"
        return
    fi
    trove-it image build --datastore "$TROVE_IT_DATASTORE_TYPE" \
        --version "$TROVE_IT_DATASTORE_VERSION" --output "$TROVE_IT_IMAGE_DIR" | tail -n 1
}

function configure_trove_it_image {
    local image
    image=$(trove_it_image_file)
    trove-it image load --image "$image" --datastore "$TROVE_IT_DATASTORE_TYPE" \
        --version "$TROVE_IT_DATASTORE_VERSION" --tag trove --os-cloud "$TROVE_IT_OS_CLOUD"
    trove-it image activate --datastore "$TROVE_IT_DATASTORE_TYPE" \
        --version "$TROVE_IT_DATASTORE_VERSION" --os-cloud "$TROVE_IT_OS_CLOUD"
}

if is_service_enabled trove-it; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing trove-it"
        install_trove_it
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Giving $TROVE_IT_DATASTORE_TYPE $TROVE_IT_DATASTORE_VERSION a guest image"
        install_trove_it
        configure_trove_it_image
    fi
fi
