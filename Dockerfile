# Multi-stage build of the single `server` binary (site embedded), on a slim runtime image.
# Build:  docker build -t leptos-auth-starter .
# Probes: GET /healthz (alive) and GET /readyz (database reachable).
# Run:    docker run -p 3000:3000 -e APP_ENV=production -e PUBLIC_URL=https://... \
#           -e JWT_SIGNING_KEY=... -e SESSION_SECRET=... -e MFA_ENCRYPTION_KEY=... \
#           -e EMAIL_URL=smtp://... \
#           -v las-data:/data leptos-auth-starter

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# libssl-dev: webauthn-rs (passkeys) verifies signatures with OpenSSL.
# scripts/setup adds the wasm32 target, cargo-leptos, wasm-bindgen and wasm-opt.
RUN scripts/setup && scripts/build

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data --uid 10001 app \
 && mkdir -p /data && chown app /data
COPY --from=build /src/target/release/server /usr/local/bin/server
USER app
WORKDIR /data
ENV LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    DATA_DIR=/data \
    LOG_FORMAT=json
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/server"]
