#!/bin/bash
# Build the guest image of one datastore from elements/, then run the image
# validation scenarios on it (inspection and a QEMU boot): tox -e image-<ds>.
# Building needs root (or password-less sudo) for loop devices and chroots.
set -euo pipefail

datastore=${1:?usage: tools/image_validate.sh DATASTORE [OUTPUT_DIR]}
output=${2:-images}
mkdir -p "$output"
image=$(trove-it image build --datastore "$datastore" --output "$output" | tail -n 1)
echo "built $image"
pytest scenarios/test_image.py -m image --datastore "$datastore" --image "$image"
