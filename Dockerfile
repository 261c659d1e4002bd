# syntax=docker/dockerfile:1
# The dmumatch image: the release binary alone, on distroless, as a non-root user.
#   docker build -t ghcr.io/dmumatch/dmumatch:0.1.0 .
#   docker run --rm ghcr.io/dmumatch/dmumatch:0.1.0 --help
# The entrypoint is the binary: the default command is `worker`; the Helm chart's migration
# Job runs `migrate` from the same image.
ARG RUST_VERSION=1.95
ARG CARGO_CHEF_VERSION=0.1.78

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
ARG CARGO_CHEF_VERSION
RUN cargo install cargo-chef --locked --version ${CARGO_CHEF_VERSION}
WORKDIR /src

# The dependency graph alone (Cargo.toml, Cargo.lock and the targets' skeleton): it changes
# when dependencies do, not when the code does.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# The cached layer: every dependency compiled once per recipe.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin dmumatch \
 && install -D -m 0755 target/release/dmumatch /out/dmumatch

# glibc and libgcc from Debian 12, like the builder; CA certificates for amqps:// and
# sslmode=require (rustls reads the system roots); no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="dmumatch" \
      org.opencontainers.image.description="DMU roles and email eligibility for B2B contacts: worker over RabbitMQ and PostgreSQL" \
      org.opencontainers.image.source="https://github.com/dmumatch/dmumatch" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/dmumatch /usr/local/bin/dmumatch
# Numeric, so Kubernetes' runAsNonRoot can verify it (the chart runs as 65532 too).
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/dmumatch"]
CMD ["worker"]
