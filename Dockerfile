# Operator image: a static-ish release build on Debian, run as a non-root user on distroless.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Without the `playground` feature: the image has no use for `schemagate dev`'s API emulator.
RUN cargo build --release --locked --no-default-features --bin schemagate

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/schemagate /usr/local/bin/schemagate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/schemagate"]
CMD ["run"]
