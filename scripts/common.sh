# shellcheck shell=bash
# Functions shared by the scripts: messages, and installing Debian packages on a fresh machine.
# Sourced, not run; the script sets SCRIPT to its name for its error messages.

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf '%s: %s\n' "${SCRIPT:-script}" "$*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root for: $*"
    fi
}

apt_install() {
    # A fresh machine may have stale or empty package lists: update only if the install fails.
    as_root apt-get install -y "$@" || { as_root apt-get update && as_root apt-get install -y "$@"; }
}

# Builds release targets in one cargo invocation, after a line saying what is built.
# usage: release_build WHAT CARGO-BUILD-ARGS...
#
# One invocation for everything a script runs: cargo unifies features over the targets it
# builds at once, and an example brings in the dev-dependencies (hickory-server, criterion),
# which turn on features of crates listclean shares with them (serde, url, zerocopy, ...).
# `cargo build --release` and then a build of an example would compile listclean and most
# of its dependencies twice, each time with fat LTO.
release_build() {
    local what=$1
    shift
    log "building $what (release, fat LTO: the first build takes a few minutes)"
    cargo build --release --locked "$@"
}
