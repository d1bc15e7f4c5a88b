#!/usr/bin/env bash
# Builds a Redis container image from this machine's Debian redis-server,
# for machines with a Docker engine but no image registry (CI here). The
# image is FROM scratch: the redis-server and redis-cli binaries and the
# shared libraries ldd lists for them, nothing else. redis-cli is there for
# health checks (compose.yaml runs `redis-cli ping`, as it can in
# redis:7-alpine). People with a registry never need it: the tests and
# compose.yaml default to redis:7-alpine.
#
# Usage: scripts/build-redis-image.sh [tag]   (default hexchi/redis:local)
# Then:  TEST_REDIS_IMAGE=hexchi/redis:local go test ./tests/...
#        REDIS_IMAGE=hexchi/redis:local docker compose up -d
set -euo pipefail

tag=${1:-hexchi/redis:local}
# Debian's redis-server package depends on redis-tools, which has redis-cli.
server=$(command -v redis-server) || {
  echo "redis-server not found: apt-get install redis-server" >&2
  exit 1
}
cli=$(command -v redis-cli) || {
  echo "redis-cli not found: apt-get install redis-tools" >&2
  exit 1
}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/data" "$ctx/rootfs/tmp"
# cp follows symlinks: Debian's redis-server is one, to redis-check-rdb (the
# binary picks its role from the name it is run as).
cp "$server" "$ctx/rootfs/usr/local/bin/redis-server"
cp "$cli" "$ctx/rootfs/usr/local/bin/redis-cli"
# "libx.so => /lib/.../libx.so (0x...)" and the loader "/lib64/ld-linux... (0x...)".
# One ldd per binary: given several, ldd heads each list with "binary:".
for lib in $({ ldd "$server"; ldd "$cli"; } | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u); do
  mkdir -p "$ctx/rootfs$(dirname "$lib")"
  cp -L "$lib" "$ctx/rootfs$lib"
done

cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
# What the engine would default to; said here so that `docker exec` and
# health checks find redis-cli whatever runs them.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /data
EXPOSE 6379
# Arguments only, as the tests and compose.yaml pass them (redis:7-alpine's
# entrypoint takes the same: arguments starting with - go to redis-server).
ENTRYPOINT ["/usr/local/bin/redis-server"]
# No persistence: test data is thrown away with the container. protected
# mode off because clients come through Docker's port mapping.
CMD ["--protected-mode", "no", "--save", "", "--appendonly", "no"]
DOCKERFILE

docker build --quiet --tag "$tag" "$ctx" >/dev/null
echo "$tag"
