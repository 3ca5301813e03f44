# The release image: a static binary on distroless, run as a non-root user.
#
#   docker build -t cognito-mfa-migrate --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse --short HEAD) .
#   docker run --rm --read-only cognito-mfa-migrate version
#
# .ci/run builds with the same go build line and checks that the binary is
# static and stamped.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, in their own layer: it is rebuilt only when go.mod or
# go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
ARG OUT=/out
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o "${OUT}/cognito-mfa-migrate" ./cmd/cognito-mfa-migrate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cognito-mfa-migrate /cognito-mfa-migrate
# The input scan and S3 uploads write temporary files in /tmp. With a
# read-only root file system it must be a volume; declaring it here makes
# ECS (Fargate bind mounts) and docker run give it the image's /tmp
# permissions (1777) instead of a root-owned 0755 directory.
VOLUME ["/tmp"]
USER nonroot:nonroot
ENTRYPOINT ["/cognito-mfa-migrate"]
