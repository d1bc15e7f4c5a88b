#!/usr/bin/env bash
# Installs Docker Compose v2 as a Docker CLI plugin (`docker compose`), built
# from source with the Go toolchain and the Go module proxy, for machines
# with a Docker engine but no Compose v2 and no registry or download site to
# fetch a release binary from (CI here). Does nothing when `docker compose
# version` already works, as it does with Docker Desktop or the docker-ce
# packages' docker-compose-plugin.
#
# The module is large: the first build takes minutes (2 to 4 on a 2-CPU CI
# machine), later ones reuse Go's module and build caches.
#
# Usage: scripts/install-compose.sh [version]   (default v2.40.3)
# Installs to ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose.
set -euo pipefail

version=${1:-v2.40.3}
pkg=github.com/docker/compose/v2

if docker compose version >/dev/null 2>&1; then
  docker compose version
  exit 0
fi
command -v go >/dev/null || {
  echo "go not found: the Compose plugin is built from source with it" >&2
  exit 1
}

plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
# Not `go install $pkg/cmd@$version`: the module's go.mod has exclude
# directives, which go install refuses. Build it as the main module instead,
# from a copy of its source (the module cache is read-only), with its own
# go.mod and go.sum: the dependency versions of the release.
src=$(cd "$work" && go mod download -json "$pkg@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] && [ -d "$src" ] || {
  echo "go mod download $pkg@$version gave no source directory" >&2
  exit 1
}
cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
# The command is the module's ./cmd package. The flags are those of the
# module's Makefile (static, version stamped for `docker compose version`),
# with -trimpath and -s as releases; GOOS and GOARCH are the host's, where
# the plugin runs. GOWORK=off: no go.work of the caller's applies.
(
  cd "$work/src"
  CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=readonly GOOS=$(go env GOHOSTOS) GOARCH=$(go env GOHOSTARCH) \
    go build -trimpath -ldflags="-s -w -X $pkg/internal.Version=$version" -o "$work/docker-compose" ./cmd
)
mkdir -p "$plugins"
install -m 0755 "$work/docker-compose" "$plugins/docker-compose"
docker compose version
