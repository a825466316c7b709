# syntax=docker/dockerfile:1
# The Data Aggregator image: the web app built with Node, the binary with Go (no cgo: the SQLite
# driver is pure Go), and a runtime stage from scratch with only the binary, CA certificates, time
# zones and a non-root user. deploy/docker_test.go checks this file and runs its layout without Docker.
#
#   docker build -t aggregator --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(git log -1 --format=%cI) .
#   docker run -p 8001:8001 -v aggregator-data:/data aggregator

FROM node:22-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/aggregator ./cmd/aggregator
RUN mkdir -p /out/data /out/etc \
 && echo 'aggregator:x:65532:65532:Data Aggregator:/data:/sbin/nologin' > /out/etc/passwd \
 && echo 'aggregator:x:65532:' > /out/etc/group

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/etc/passwd /etc/passwd
COPY --from=build /out/etc/group /etc/group
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/aggregator /usr/local/bin/aggregator
USER 65532:65532
ENV DATA_DIR=/data PORT=8001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8001
# The binary is PID 1 (exec form) and turns SIGTERM into a graceful stop (SHUTDOWN_TIMEOUT).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/aggregator", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/aggregator"]
CMD ["serve"]
