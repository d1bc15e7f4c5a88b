# The hexchi container image: a static binary on an empty base, its config
# baked in, its secrets mounted at run time, running as a non-root user.
#
#   docker build -t hexchi .
#   docker run -p 127.0.0.1:8080:8080 \
#     -e CORE_REDIS_ADDRS=redis:6379 \
#     -v "$PWD/secrets:/run/secrets:ro" hexchi
#
# The secrets directory holds one file per secret key, as config/<env>/secrets
# does: core.auth.session.cookie.sign (required), core.redis.password.
#
# tests/image_test.go builds the runtime stage below from a binary built on
# the test machine (which has no registry to pull golang from): keep the
# runtime stage's "COPY --from=build /out/app /app/app" line as it is.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/app ./cmd/app

FROM scratch AS runtime
WORKDIR /app
# Config for every environment; .dockerignore keeps every secrets/ folder out.
COPY config /app/config
COPY --from=build /out/app /app/app
ENV APP_ENV=prod \
    APP_CONFIG_DIR=/app/config \
    APP_SECRETS_DIR=/run/secrets
# A numeric user: the empty base has no /etc/passwd to name one.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app/app"]
