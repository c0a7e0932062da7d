# The demo pipeline for deploy/docker-compose.yml; build context: the workspace root.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p pipeline-demo

FROM debian:bookworm-slim
COPY --from=build /src/target/release/pipeline-demo /usr/local/bin/pipeline-demo
EXPOSE 9464
ENTRYPOINT ["pipeline-demo"]
