#!/usr/bin/env bash
# Installs tflint into .tools/bin (idempotent: does nothing when the pinned
# version is already there). Built from source through the Go module proxy,
# because prebuilt release downloads are not reachable from CI.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v0.64.0
bin=.tools/bin/tflint
if [[ -x $bin && $("$bin" --version 2>/dev/null) == *"version ${version#v}"* ]]; then
  exit 0
fi
mkdir -p .tools/bin
echo "installing tflint $version into .tools/bin"
GOBIN="$PWD/.tools/bin" go install "github.com/terraform-linters/tflint@$version"
