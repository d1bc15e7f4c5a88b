#!/usr/bin/env bash
# Builds an HAProxy container image from this machine's Debian haproxy, for
# machines with a Docker engine but no image registry (CI here), as
# scripts/build-redis-image.sh does for Redis. The image is FROM scratch:
# the haproxy binary and the shared libraries ldd lists for it, nothing
# else. It runs `haproxy -f /usr/local/etc/haproxy/haproxy.cfg`, as the
# official haproxy image does, so mount a config there. It runs as an
# unprivileged user the image has no name for, so the config must not say
# user or group (no /etc/passwd), chroot (needs root) or daemon (the
# container would exit); no syslog either: `log stdout format raw local0`.
# Server names resolve at start through Docker's DNS (glibc has its DNS
# resolver built in since 2.34, no NSS module needed); the tests give IPs.
# tests/replicas_test.go runs the app's replicas behind it. People with a
# registry never need it: the test takes HAPROXY_IMAGE, such as the official
# haproxy:2.6, which reads its config from the same path.
#
# Usage: scripts/build-haproxy-image.sh [tag]   (default hexchi/haproxy:local)
# Then:  HAPROXY_IMAGE=hexchi/haproxy:local go test -run Replicas ./tests/
set -euo pipefail

tag=${1:-hexchi/haproxy:local}
# Debian puts it in /usr/sbin, which is not on its non-root users' PATH.
haproxy=$(command -v haproxy || command -v /usr/sbin/haproxy) || {
  echo "haproxy not found: apt-get install haproxy" >&2
  exit 1
}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# /tmp and /var/run exist, empty and writable by all, for a config that
# puts a socket or a pid file there; the config itself is mounted.
mkdir -p "$ctx/rootfs/usr/local/sbin" "$ctx/rootfs/usr/local/etc/haproxy" "$ctx/rootfs/tmp" "$ctx/rootfs/var/run"
chmod 1777 "$ctx/rootfs/tmp" "$ctx/rootfs/var/run"
cp "$haproxy" "$ctx/rootfs/usr/local/sbin/haproxy"
# "libx.so => /lib/.../libx.so (0x...)" and the loader "/lib64/ld-linux... (0x...)".
for lib in $(ldd "$haproxy" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u); do
  mkdir -p "$ctx/rootfs$(dirname "$lib")"
  cp -L "$lib" "$ctx/rootfs$lib"
done

cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Not root: the container is HAProxy's sandbox (no chroot), and a
# frontend on a port above 1023 needs no privilege. A numeric user: the
# empty base has no /etc/passwd to name one.
USER 65534:65534
# The official image's stop signal: HAProxy finishes the requests in
# flight on SIGUSR1 and exits.
STOPSIGNAL SIGUSR1
ENTRYPOINT ["/usr/local/sbin/haproxy"]
CMD ["-f", "/usr/local/etc/haproxy/haproxy.cfg"]
DOCKERFILE

docker build --quiet --tag "$tag" "$ctx" >/dev/null
echo "$tag"
