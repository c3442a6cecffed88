#!/usr/bin/env bash
# Installs the AWS Lambda Runtime Interface Emulator (aws-lambda-rie), the
# runtime that the lambda handler's end-to-end tests invoke functions
# through, into .tools/lambda-rie/bin.
#
# It is built from source by the Go toolchain: the Go module proxy serves
# the emulator's repository as a pseudo-version (its tagged releases are
# not served), so the version is pinned here, and `go install pkg@version`
# builds it outside this module, leaving go.mod alone.
#
# Safe to run repeatedly and concurrently: a finished install is recognised
# by a stamp file written last, and a new one is built in a private
# directory and renamed into place.
set -euo pipefail

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.tools/lambda-rie"
want="$RIE_MODULE@$RIE_VERSION"

installed() {
	local dir=$1
	[[ -f "$dir/.installed" ]] &&
		[[ "$(cat "$dir/.installed")" == "$want" ]] &&
		[[ -x "$dir/bin/aws-lambda-rie" ]]
}

if installed "$dest"; then
	exit 0
fi

mkdir -p "$root/.tools"
stage="$(mktemp -d "$root/.tools/lambda-rie.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"

echo "lambda-rie-install: building $want into .tools/lambda-rie" >&2
# GOFLAGS from the caller (-race, -mod=...) must not reach a build outside
# this module; CGO off gives the static binary AWS ships.
GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$stage/bin" \
	go install -trimpath "$RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION"
printf '%s' "$want" >"$stage/.installed"

. "$(dirname "${BASH_SOURCE[0]}")/install-lib.sh"
publish lambda-rie-install "$stage" "$dest"
