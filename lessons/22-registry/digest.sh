#!/bin/sh
# digest.sh STORE TAG manifest|config|layer
# One digest of the lab's image TAG, read from the OCI image layout STORE the way a
# registry client does: index.json -> the manifest tagged TAG -> its config and layer.
set -eu
store=$1 tag=$2 what=$3
m=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$store/index.json" | head -n 1)
if [ -z "$m" ]; then
    echo "no image tagged $tag in $store" >&2
    exit 1
fi
case $what in
    manifest) echo "$m" ;;
    config) jq -r '.config.digest' "$store/blobs/sha256/${m#sha256:}" ;;
    layer) jq -r '.layers[0].digest' "$store/blobs/sha256/${m#sha256:}" ;;
    *) echo "manifest, config or layer (got $what)" >&2; exit 2 ;;
esac
