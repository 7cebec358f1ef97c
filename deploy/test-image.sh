#!/usr/bin/env bash
# Builds the image the container tests run: a root filesystem holding Debian's busybox-static
# with every applet linked, imported into the local dockerd (no registry is needed or reached).
# Usage: deploy/test-image.sh [image-name] — default berth-test/busybox:latest. DOCKER_HOST is honoured.
set -euo pipefail
image="${1:-berth-test/busybox:latest}"
busybox="$(command -v busybox)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www" "$root/root"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo 'hello from berth' >"$root/www/index.html"
tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$image" >/dev/null
echo "$image"
