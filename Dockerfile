# The release image: a static binary on distroless, run as a non-root user.
#
#   docker build -t cognito-mfa-migrate --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse --short HEAD) .
#   docker run --rm --read-only cognito-mfa-migrate version
#
# The same file builds the arm64 image that Graviton Fargate runs (cheaper),
# on any machine: the build stage runs on the builder's own platform and
# cross-compiles for the target (TARGETOS/TARGETARCH), with no emulation:
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t REPO:v0.1.0 --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse --short HEAD) --push .
#
# .ci/run builds with the same go build line and checks that the binary is
# static and stamped.
#
# Base images are pinned by digest: the tag says what the image is, the
# digest which one, so a build does not change under you. To update them
# (say, monthly, or for a Go or distroless security fix), take the digest of
# each tag's multi-platform index, not of one platform's image:
#
#   docker buildx imagetools inspect golang:1.26 | grep -m1 Digest
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot | grep -m1 Digest
#
# replace both below in one reviewed commit, and run .ci/run.

FROM --platform=$BUILDPLATFORM golang:1.26@sha256:3aff6657219a4d9c14e27fb1d8976c49c29fddb70ba835014f477e1c70636647 AS build
WORKDIR /src
# Modules first, in their own layer: it is rebuilt only when go.mod or
# go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
ARG OUT=/out
# Set by BuildKit from --platform (linux/amd64 when not given).
ARG TARGETOS
ARG TARGETARCH
RUN GOOS="${TARGETOS}" GOARCH="${TARGETARCH}" CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o "${OUT}/cognito-mfa-migrate" ./cmd/cognito-mfa-migrate

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
ARG VERSION=dev
ARG COMMIT=none
# The project has not chosen a licence yet: NOASSERTION (SPDX) until it does.
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="cognito-mfa-migrate" \
      org.opencontainers.image.description="Move Amazon Cognito users off legacy SMS MFA (AdminSetUserSettings) to AdminSetUserMFAPreference" \
      org.opencontainers.image.source="https://github.com/cognito-mfa-migrate/cognito-mfa-migrate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.licenses="${LICENSES}"
COPY --from=build /out/cognito-mfa-migrate /cognito-mfa-migrate
# The input scan and S3 uploads write temporary files in /tmp. With a
# read-only root file system it must be a volume; declaring it here makes
# ECS (Fargate bind mounts) and docker run give it the image's /tmp
# permissions (1777) instead of a root-owned 0755 directory.
VOLUME ["/tmp"]
USER nonroot:nonroot
ENTRYPOINT ["/cognito-mfa-migrate"]
