# shellcheck shell=bash
# Helpers shared by the scripts: messages, and installing Debian packages on a fresh machine.
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
