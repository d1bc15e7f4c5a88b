#!/usr/bin/env bash
# Builds the app's container image without an image registry (CI here):
# the Dockerfile's build stage needs one (FROM golang), so the binary is
# built on this machine instead, with the build stage's flags, and put into
# the Dockerfile's runtime stage. That stage is taken from the Dockerfile
# itself, from its "FROM scratch AS runtime" line to the end, with its
# "COPY --from=build /out/app /app/app" line pointed at the host-built
# binary: the image is the one `docker build .` makes, and the two cannot
# drift. People with a registry never need it: `docker build .` (or
# `docker compose build`) builds the same image.
#
# Usage: scripts/build-app-image.sh [tag]   (default hexchi/app:local)
# Then:  APP_IMAGE=hexchi/app:local docker compose up -d
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-hexchi/app:local}
from_line='FROM scratch AS runtime'
binary_line='COPY --from=build /out/app /app/app'
binary_from_context='COPY app /app/app'

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

# The runtime stage: instructions are case-insensitive and the spaces
# between words do not matter, to Docker and here. Exactly one binary line,
# and nothing else copied from another stage, since the stage is built
# alone (tests/image_test.go checks the same).
awk -v from="$from_line" -v bin="$binary_line" -v repl="$binary_from_context" '
  function norm(s) { s = tolower(s); gsub(/[ \t]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s }
  !in_stage && norm($0) == tolower(from) { in_stage = 1 }
  !in_stage { next }
  norm($0) == tolower(bin) { print repl; copies++; next }
  tolower($0) ~ /^[ \t]*copy[ \t].*--from=/ { bad = bad "\n  " $0 }
  tolower($0) ~ /^[ \t]*from[ \t]/ && norm($0) != tolower(from) { bad = bad "\n  " $0 }
  { print }
  END {
    if (!in_stage) { print "Dockerfile: no \"" from "\" line" > "/dev/stderr"; exit 1 }
    if (copies != 1) { print "Dockerfile: the runtime stage has " copies + 0 " lines \"" bin "\", want exactly 1: this script replaces it with the binary it builds" > "/dev/stderr"; exit 1 }
    if (bad != "") { print "Dockerfile: the runtime stage is built alone, but it also has:" bad > "/dev/stderr"; exit 1 }
  }
' Dockerfile >"$ctx/Dockerfile"

# The repository's own .dockerignore filters the context, as for
# `docker build .` (it keeps every secrets/ folder out); its first rule
# ignores everything, so let the binary back in.
cp .dockerignore "$ctx/.dockerignore"
printf '\n# Added by scripts/build-app-image.sh: the binary built on the host.\n!app\n' >>"$ctx/.dockerignore"
cp -R config "$ctx/config"

# For the engine's architecture, which need not be the host's (Docker
# Desktop on macOS runs a Linux VM); the build stage's flags.
arch=$(docker version --format '{{.Server.Arch}}')
CGO_ENABLED=0 GOOS=linux GOARCH=$arch \
  go build -trimpath -ldflags="-s -w" -o "$ctx/app" ./cmd/app

docker build --quiet --tag "$tag" "$ctx" >/dev/null
echo "$tag"
