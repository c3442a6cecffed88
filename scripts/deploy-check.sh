#!/usr/bin/env bash
# Checks deploy/ and the Dockerfile with what a developer's machine and CI
# have (no AWS provider, no Docker engine). Run through `make deploy-check`,
# which builds bin/sqsfleet and installs tflint first.
#
#   1. tflint, built-in terraform ruleset, in every directory with a .tflint.hcl
#   2. terraform fmt -check, if terraform is installed (it is optional)
#   3. systemd-analyze verify and security on deploy/systemd/*.service
#   4. bin/sqsfleet alone in an empty root, as the scratch/distroless image
#      holds it: static, `version` works, `healthcheck` fails cleanly
#   5. deploy/*_test.go: the Terraform, units, helper scripts and Dockerfile
#      against the code's constants
#
# `terraform validate` needs the AWS provider, which cannot be downloaded
# here, so it does not run.
set -euo pipefail
cd "$(dirname "$0")/.."

tflint=.tools/bin/tflint
max_exposure=3.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "deploy-check: FAIL: $*" >&2; exit 1; }
ok() { echo "deploy-check: ok: $*"; }
skip() { echo "deploy-check: SKIPPED: $*"; }

# --- 1. tflint -----------------------------------------------------------------
[[ -x $tflint ]] || fail "$tflint missing: run scripts/tflint-install.sh (make deploy-check does)"
while IFS= read -r cfg; do
  dir=$(dirname "$cfg")
  "$tflint" --chdir="$dir" --format=compact || fail "tflint $dir"
  ok "tflint $dir"
done < <(find deploy/terraform -name .tflint.hcl -not -path '*/.terraform/*' | sort)

# --- 2. terraform fmt ----------------------------------------------------------
if command -v terraform >/dev/null; then
  TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff deploy/terraform ||
    fail "terraform fmt: run terraform fmt -recursive deploy/terraform"
  ok "terraform fmt -check"
else
  skip "terraform fmt -check: terraform is not installed"
fi

# --- 3. systemd units ----------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
  for unit in deploy/systemd/*.service; do
    name=$(basename "$unit")
    exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
    # As shipped: the only complaint allowed is that the binary is not
    # installed on this machine.
    out=$(systemd-analyze verify "$unit" 2>&1) || true
    rest=$(grep -vxF "$name: Command $exec_path is not executable: No such file or directory" <<<"$out" || true)
    [[ -z $rest ]] || fail "systemd-analyze verify $unit:"$'\n'"$rest"
    # And a copy whose ExecStart points at an executable that exists must
    # pass with no complaint at all.
    case $exec_path in
      /usr/local/bin/sqsfleet) stand_in=$PWD/bin/sqsfleet ;;
      /usr/local/bin/sqsfleet-lifecycle) stand_in=$PWD/deploy/systemd/sqsfleet-lifecycle.sh ;;
      *) fail "$unit: unexpected ExecStart $exec_path" ;;
    esac
    [[ -x $stand_in ]] || fail "$stand_in is not executable (make build?)"
    sed "s|^ExecStart=$exec_path|ExecStart=$stand_in|" "$unit" >"$tmp/$name"
    out=$(systemd-analyze verify "$tmp/$name" 2>&1) || fail "systemd-analyze verify $name with ExecStart=$stand_in:"$'\n'"$out"
    [[ -z $out ]] || fail "systemd-analyze verify $name with ExecStart=$stand_in:"$'\n'"$out"
    ok "systemd-analyze verify $unit"
  done
  unit=deploy/systemd/sqsfleet.service
  report=$(systemd-analyze security --offline=yes "$unit" 2>&1) || fail "systemd-analyze security $unit:"$'\n'"$report"
  exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report")
  [[ -n $exposure ]] || fail "systemd-analyze security $unit: no exposure level in:"$'\n'"$report"
  awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
    fail "systemd-analyze security $unit: exposure $exposure, above $max_exposure:"$'\n'"$report"
  ok "systemd-analyze security $unit: exposure $exposure (at most $max_exposure)"
else
  skip "systemd units: systemd-analyze is not installed (Debian package systemd)"
fi

# --- 4. the binary alone in an empty root --------------------------------------
bin=bin/sqsfleet
[[ -x $bin ]] || fail "$bin missing: run make build"
if command -v readelf >/dev/null; then
  if grep -q INTERP <<<"$(readelf -lW "$bin")"; then fail "$bin is dynamically linked (it has a PT_INTERP)"; fi
  ok "$bin is static (no PT_INTERP)"
elif command -v file >/dev/null; then
  [[ $(file -b "$bin") == *"statically linked"* ]] || fail "$bin is not statically linked: $(file -b "$bin")"
  ok "$bin is static (file)"
else
  skip "static check: neither readelf nor file is installed (the empty-root run below still needs a static binary)"
fi
if [[ $(id -u) -ne 0 ]]; then
  skip "empty-root run: chroot needs root (CI runs as root); the image's binary was not run alone"
else
  root=$tmp/root
  install -D -m 0755 "$bin" "$root/usr/local/bin/sqsfleet"
  chroot=$(command -v chroot)
  out=$(env -i "$chroot" "$root" /usr/local/bin/sqsfleet version 2>&1) ||
    fail "sqsfleet version in an empty root: $out"
  [[ $out == "sqsfleet "* ]] || fail "sqsfleet version in an empty root printed: $out"
  ok "empty root: $out"
  # No daemon runs in there. A fresh network namespace makes sure nothing on
  # this machine answers on :8080 instead; without one, a port nobody uses.
  if unshare --net true 2>/dev/null; then
    probe=(env -i "$(command -v unshare)" --net "$chroot" "$root" /usr/local/bin/sqsfleet healthcheck)
  else
    probe=(env -i SQSFLEET_HTTP_ADDR=127.0.0.1:1 "$chroot" "$root" /usr/local/bin/sqsfleet healthcheck)
  fi
  rc=0
  out=$("${probe[@]}" 2>&1) || rc=$?
  [[ $rc -eq 1 ]] || fail "sqsfleet healthcheck with no daemon: exit $rc, want 1: $out"
  [[ $out == "sqsfleet: unhealthy: "* && $out != *goroutine* && $(wc -l <<<"$out") -eq 1 ]] ||
    fail "sqsfleet healthcheck with no daemon should print one line, got: $out"
  ok "empty root: healthcheck with no daemon exits 1: $out"
fi

# --- 5. wiring -------------------------------------------------------------------
go test -count=1 ./deploy/
