# syntax=docker/dockerfile:1
# sqsfleet: the static binary on distroless, which has CA certificates,
# time zone data and a non-root user, and nothing else: no shell, no curl.
#
#   docker build --build-arg VERSION=v1.0.0 -t sqsfleet:v1.0.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 ...
#
# `make test` checks what this image holds without a Docker engine: the
# binary `make build` makes, alone in an empty root (scripts/deploy-check.sh),
# and this file's USER, ENTRYPOINT and HEALTHCHECK (deploy/deploy_test.go).

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev
# The same target CI runs: CGO_ENABLED=0, -trimpath, version stamped.
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH make build VERSION=$VERSION

FROM gcr.io/distroless/static-debian12:nonroot
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
ENTRYPOINT ["/usr/local/bin/sqsfleet"]
CMD ["run"]
