#!/bin/sh
# make_busybox_image.sh LAYOUT [TAG]: an OCI image layout built offline from
# the host's busybox-static: one gzip layer (busybox and its applets), an
# image config (Cmd, Env, WorkingDir, Labels) and an index that names the
# image TAG (default "latest").  Used by `make demo` and bench/launch.sh.
set -eu
layout=$1
tag=${2:-latest}
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

root=$work/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/run" \
         "$root/var/tmp"
chmod 1777 "$root/tmp" "$root/var/tmp"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$root/etc/group"
printf 'Built offline from busybox-static by tests/make_busybox_image.sh\n' > "$root/etc/motd"

# The layer: a reproducible tar (owner 0, fixed mtime), its DiffID, then gzip.
tar -C "$root" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -6 "$work/layer.tar"

mkdir -p "$layout/blobs/sha256"
put () {  # put FILE -> prints "DIGEST SIZE" and stores the blob
    d=$(sha256sum "$1" | cut -d' ' -f1)
    cp "$1" "$layout/blobs/sha256/$d"
    echo "$d $(stat -c %s "$1")"
}
set -- $(put "$work/layer.tar.gz"); layer=$1; layer_size=$2

cat > "$work/config.json" <<EOF
{"architecture":"$arch","os":"linux",
 "config":{"Cmd":["sh","-c","cat /etc/motd; echo \"I am \$(id -un) in \$(pwd), DEMO=\$DEMO\""],
           "Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin","DEMO=olrun"],"WorkingDir":"/root",
           "Labels":{"org.opencontainers.image.title":"busybox-demo"}},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]}}
EOF
set -- $(put "$work/config.json"); config=$1; config_size=$2

cat > "$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$config_size},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer","size":$layer_size}]}
EOF
set -- $(put "$work/manifest.json"); manifest=$1; manifest_size=$2

printf '{"imageLayoutVersion":"1.0.0"}\n' > "$layout/oci-layout"
cat > "$layout/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
 "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest",
               "size":$manifest_size,"annotations":{"org.opencontainers.image.ref.name":"$tag"}}]}
EOF
