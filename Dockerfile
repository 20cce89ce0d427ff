# Build stage: a release binary from the locked dependencies.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --bin connector-sync-proxy

# Run stage: the binary, its default settings, an unprivileged user.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home connector-sync-proxy
COPY --from=build /src/target/release/connector-sync-proxy /usr/local/bin/connector-sync-proxy
COPY config/default.toml /etc/connector-sync-proxy/default.toml
ENV CONNECTOR_SYNC_PROXY_CONFIG_FILE=/etc/connector-sync-proxy/default.toml \
    CONNECTOR_SYNC_PROXY_LISTEN=0.0.0.0:9280 \
    RUST_LOG=info
EXPOSE 9280
USER connector-sync-proxy
# The port accepts connections once the service is up (bash's /dev/tcp, no extra tools).
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9280"]
ENTRYPOINT ["connector-sync-proxy"]
