#!/usr/bin/env bash
# Profile-guided release build (`make build-pgo`): builds listclean instrumented, cleans
# training lists with it, then builds it again optimized for what those runs did.
#
# usage: scripts/pgo.sh
#
# The training lists are generated with seeds of their own (never the benchmark's data), in
# both shapes the benchmark has and in CP932, plus the bundled samples. The binary goes to
# $CARGO_TARGET_DIR/pgo/release/listclean (target dir defaulting to target); the plain
# release build is left as it is.
#
# Needs an llvm-profdata that reads rustc's profiles: rustc's own (rustup component
# llvm-tools), else Debian's llvm-19, installed with apt-get when missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET=${CARGO_TARGET_DIR:-target}
WORK=$TARGET/pgo-work
export DEBIAN_FRONTEND=noninteractive

SCRIPT=pgo
# shellcheck source=scripts/common.sh
source scripts/common.sh

# Prints the path of an llvm-profdata for rustc's profiles, installing one if need be.
find_profdata() {
    local sysroot own
    sysroot=$(rustc --print sysroot)
    own=$(find "$sysroot" -name llvm-profdata -type f 2>/dev/null | head -n 1)
    if [ -z "$own" ] && rustup component add llvm-tools >/dev/null 2>&1; then
        own=$(find "$sysroot" -name llvm-profdata -type f 2>/dev/null | head -n 1)
    fi
    if [ -n "$own" ]; then
        echo "$own"
        return
    fi
    if ! command -v llvm-profdata-19 >/dev/null; then
        log "installing llvm-19 for llvm-profdata"
        apt_install --no-install-recommends llvm-19 >&2
    fi
    command -v llvm-profdata-19 || die "no llvm-profdata found or installable"
}

main() {
    local profdata
    profdata=$(find_profdata)
    log "llvm-profdata: $profdata ($("$profdata" --version | grep -m1 -i version))"
    rm -rf "$WORK"
    mkdir -p "$WORK/profiles" "$WORK/out"
    local profiles
    profiles=$(realpath "$WORK/profiles")

    log "building the instrumented binary"
    RUSTFLAGS="-Cprofile-generate=$profiles" CARGO_TARGET_DIR="$TARGET/pgo-gen" \
        cargo build --release --locked
    # Profiles of the build scripts, which the flags instrumented too, are not wanted.
    rm -f "$profiles"/*.profraw

    log "generating training lists"
    cargo run --release --locked --quiet --example gencontacts -- \
        --rows 300000 --domains 30000 --seed 101 --out "$WORK/train-a.csv"
    cargo run --release --locked --quiet --example gencontacts -- \
        --rows 100000 --domains 5000 --seed 102 --dirty 0.2 --out "$WORK/train-b.csv"

    log "training"
    local bin=$TARGET/pgo-gen/release/listclean
    for list in "$WORK"/train-a.csv "$WORK"/train-b.csv samples/*.csv; do
        "$bin" clean "$list" --no-dns -o "$WORK/out" --quiet
    done
    "$bin" clean "$WORK/train-b.csv" --no-dns -o "$WORK/out" --output-encoding cp932 --quiet
    "$profdata" merge -o "$WORK/merged.profdata" "$profiles"/*.profraw

    log "building with the profile"
    RUSTFLAGS="-Cprofile-use=$(realpath "$WORK/merged.profdata")" CARGO_TARGET_DIR="$TARGET/pgo" \
        cargo build --release --locked
    log "built $TARGET/pgo/release/listclean"
}

main "$@"
