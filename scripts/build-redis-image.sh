#!/usr/bin/env bash
# Builds a Redis container image from this machine's Debian redis-server,
# for machines with a Docker engine but no image registry (CI here). The
# image is FROM scratch: the redis-server binary and the shared libraries
# ldd lists for it, nothing else. People with a registry never need it:
# the tests default to redis:7-alpine.
#
# Usage: scripts/build-redis-image.sh [tag]   (default hexchi/redis:local)
# Then:  TEST_REDIS_IMAGE=hexchi/redis:local go test ./tests/...
set -euo pipefail

tag=${1:-hexchi/redis:local}
bin=$(command -v redis-server) || {
  echo "redis-server not found: apt-get install redis-server" >&2
  exit 1
}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/data" "$ctx/rootfs/tmp"
cp "$bin" "$ctx/rootfs/usr/local/bin/redis-server"
# "libx.so => /lib/.../libx.so (0x...)" and the loader "/lib64/ld-linux... (0x...)".
for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
  mkdir -p "$ctx/rootfs$(dirname "$lib")"
  cp -L "$lib" "$ctx/rootfs$lib"
done

cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-server"]
# No persistence: test data is thrown away with the container. protected
# mode off because clients come through Docker's port mapping.
CMD ["--protected-mode", "no", "--save", "", "--appendonly", "no"]
DOCKERFILE

docker build --quiet --tag "$tag" "$ctx" >/dev/null
echo "$tag"
