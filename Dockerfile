# syntax=docker/dockerfile:1
# sqsfleet: the static binary on distroless, which has CA certificates,
# time zone data and a non-root user, and nothing else: no shell, no curl.
#
#   docker build --build-arg VERSION=v1.0.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t sqsfleet:v1.0.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 ...
#
# The base images are build arguments so that a pipeline can pin them by
# digest without editing this file (deploy/README.md, "The image"):
#   --build-arg GO_IMAGE=golang:1.26@sha256:<digest>
#   --build-arg RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:<digest>
#
# `make test` checks what this image holds without a Docker engine: the
# binary `make build` makes, alone in an empty root (scripts/deploy-check.sh),
# and this file's bases, labels, USER, VOLUME, ENTRYPOINT and HEALTHCHECK
# (deploy/files_test.go).

ARG GO_IMAGE=golang:1.26
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev
# The same target CI runs: CGO_ENABLED=0, -trimpath, version stamped.
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH make build VERSION=$VERSION

FROM ${RUNTIME_IMAGE}
ARG RUNTIME_IMAGE VERSION=dev REVISION CREATED
# OCI annotations (github.com/opencontainers/image-spec, annotations.md):
# what the image is, which release and commit built it, and on what base.
LABEL org.opencontainers.image.title="sqsfleet" \
      org.opencontainers.image.description="SQS worker daemon: long-polls a queue, runs a handler per message, scales on backlog per instance" \
      org.opencontainers.image.source="https://github.com/sqsfleet/sqsfleet" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
COPY --from=build /src/bin/sqsfleet /usr/local/bin/sqsfleet
# distroless's nonroot user, by number so that runtimes can verify it.
USER 65532:65532
# The only writable place when the root file system is read-only (ECS,
# docker run --read-only). On Fargate the task's volume at /tmp starts
# owned by root, mode 0755, unless the image declares a VOLUME at that
# path: then it takes the image's /tmp, which distroless makes root's with
# mode 1777, so uid 65532 can write there.
VOLUME ["/tmp"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/sqsfleet", "healthcheck"]
# Exec form: sqsfleet is PID 1 and gets the SIGTERM itself, so it drains.
# Give it longer than the drain to stop: Docker's default is 10 s
# (docker run --stop-timeout, compose stop_grace_period; deploy/README.md).
ENTRYPOINT ["/usr/local/bin/sqsfleet"]
CMD ["run"]
