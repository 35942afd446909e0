#!/usr/bin/env bash
# Whole-command benchmark (`make bench`): `listclean clean --no-dns` against `xsv select email`
# on 2,000,000 generated rows, side by side in one hyperfine run, plus listclean's peak RSS.
#
# usage: scripts/bench.sh [--reference-only | dns]
#
#   --reference-only  generate the data and time xsv alone (for when listclean does not build yet)
#   dns               the DNS stage: 1M rows over 20,000 domains against the lab server with 20 ms per answer
#
# Environment: LISTCLEAN (binary to time, default $CARGO_TARGET_DIR/release/listclean, the
# target dir defaulting to target), BENCH_DIR (default
# bench-data), RUNS (hyperfine runs, default 5), PGO (default yes: also build and time the
# profile-guided build of scripts/pgo.sh; no to skip it), LISTCLEAN_PGO (that build's binary).
#
# Installs what it needs on Debian: hyperfine and time with apt-get, xsv with `cargo install`.
# Figures depend on the machine; the script prints them with the targets but never fails on them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RELEASE=${CARGO_TARGET_DIR:-target}/release
LISTCLEAN=${LISTCLEAN:-$RELEASE/listclean}
BENCH_DIR=${BENCH_DIR:-bench-data}
RUNS=${RUNS:-5}
# The profile-guided build (scripts/pgo.sh), timed beside the release build; PGO=no skips it.
PGO=${PGO:-yes}
LISTCLEAN_PGO=${LISTCLEAN_PGO:-${CARGO_TARGET_DIR:-target}/pgo/release/listclean}

ROWS=2000000
DOMAINS=50000
SEED=1
DATA=$BENCH_DIR/contacts-2m.csv

# Targets: listclean within 1.5x of xsv, at least 3M rows/s, peak RSS under 100 MiB.
MAX_RATIO=1.5
MIN_ROWS_PER_SEC=3000000
MAX_RSS_MIB=100

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

SCRIPT=bench
# shellcheck source=scripts/common.sh
source scripts/common.sh

ensure_tools() {
    command -v cargo >/dev/null || die "cargo not found (install Rust with rustup first)"
    if ! command -v hyperfine >/dev/null; then
        log "installing hyperfine"
        apt_install hyperfine
    fi
    if [ ! -x /usr/bin/time ]; then
        log "installing time"
        apt_install time
    fi
    if ! command -v xsv >/dev/null; then
        log "installing xsv (a few minutes)"
        cargo install xsv --locked
    fi
}

print_machine() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
    log "machine: ${cpu:-unknown CPU}, $(nproc) cores, $(uname -sr)"
    log "tools: $(rustc --version), $(hyperfine --version), xsv $(xsv --version)"
}

generate_data() {
    mkdir -p "$BENCH_DIR"
    if [ -s "$DATA" ]; then
        log "using existing $DATA"
        return
    fi
    log "generating $DATA"
    # Written under another name first, so an interrupted run never leaves a short file behind.
    "$RELEASE"/examples/gencontacts \
        --rows "$ROWS" --domains "$DOMAINS" --seed "$SEED" --out "$DATA.tmp"
    mv "$DATA.tmp" "$DATA"
}

# Prints the median seconds of the hyperfine CSV row named $2 in file $1.
median_of() {
    awk -F, -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == "median") col = i; next }
        $1 == name { print $col }' "$1"
}

# Prints "yes" if awk expression $1 holds, else "NO".
check() { awk "BEGIN { print ($1) ? \"yes\" : \"NO\" }"; }

XSV_NAME="xsv select email"
LISTCLEAN_NAME="listclean clean --no-dns"

bench_clean() {
    local reference_only=$1
    local csv=$BENCH_DIR/bench-clean.csv md=$BENCH_DIR/bench-clean.md
    local commands=(-n "$XSV_NAME" "xsv select email $DATA > /dev/null")
    # The builds timed: the plain release build, and the profile-guided one when there is one.
    local names=() bins=()
    if [ "$reference_only" = no ]; then
        mkdir -p "$BENCH_DIR/out"
        names+=("$LISTCLEAN_NAME")
        bins+=("$LISTCLEAN")
        if [ -n "$LISTCLEAN_PGO" ] && [ -x "$LISTCLEAN_PGO" ]; then
            names+=("$LISTCLEAN_NAME (PGO build)")
            bins+=("$LISTCLEAN_PGO")
        fi
        local i
        for i in "${!names[@]}"; do
            commands+=(-n "${names[$i]}" "${bins[$i]} clean $DATA --no-dns -o $BENCH_DIR/out --quiet")
        done
    fi
    hyperfine --warmup 1 --runs "$RUNS" --export-markdown "$md" --export-csv "$csv" "${commands[@]}"

    local xsv_s
    xsv_s=$(median_of "$csv" "$XSV_NAME")
    echo
    echo "rows: $ROWS ($DATA); medians of $RUNS runs; table in $md"
    awk -v r="$ROWS" -v s="$xsv_s" 'BEGIN { printf "%-40s %7.3f s  %6.2f M rows/s\n", "xsv select email", s, r / s / 1e6 }'
    if [ "$reference_only" = yes ]; then return; fi

    local lc_s rss_kib
    for i in "${!names[@]}"; do
        lc_s=$(median_of "$csv" "${names[$i]}")
        /usr/bin/time -v -o "$BENCH_DIR/time-clean.txt" \
            "${bins[$i]}" clean "$DATA" --no-dns -o "$BENCH_DIR/out" --quiet >/dev/null
        rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_DIR/time-clean.txt")
        echo
        awk -v n="${names[$i]}" -v r="$ROWS" -v s="$lc_s" 'BEGIN { printf "%-40s %7.3f s  %6.2f M rows/s\n", n, s, r / s / 1e6 }'
        printf '  %-34s %-22s %s\n' target measured met
        printf '  %-34s %-22s %s\n' "time <= ${MAX_RATIO}x xsv" \
            "$(awk -v a="$lc_s" -v b="$xsv_s" 'BEGIN { printf "%.2fx", a / b }')" \
            "$(check "$lc_s / $xsv_s <= $MAX_RATIO")"
        printf '  %-34s %-22s %s\n' ">= $((MIN_ROWS_PER_SEC / 1000000)) M rows/s" \
            "$(awk -v r="$ROWS" -v s="$lc_s" 'BEGIN { printf "%.2f M rows/s", r / s / 1e6 }')" \
            "$(check "$ROWS / $lc_s >= $MIN_ROWS_PER_SEC")"
        printf '  %-34s %-22s %s\n' "peak RSS < $MAX_RSS_MIB MiB" \
            "$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f MiB", k / 1024 }')" \
            "$(check "$rss_kib < $MAX_RSS_MIB * 1024")"
    done
    stdin_memory
}

# The same list on standard input, whose length is not known beforehand: its peak RSS must
# stay inside the budget of a file's, 64 MiB and 16 bytes per kept address.
stdin_memory() {
    /usr/bin/time -v -o "$BENCH_DIR/time-stdin.txt" \
        sh -c "exec \"\$0\" clean - --no-dns -o \"\$1\" --quiet < \"\$2\"" \
        "$LISTCLEAN" "$BENCH_DIR/out" "$DATA" >/dev/null
    local rss_kib kept budget_kib
    rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_DIR/time-stdin.txt")
    kept=$(python3 -c "import json; print(json.load(open('$BENCH_DIR/out/stdin.report.json'))['rows_cleaned'])")
    budget_kib=$(( 64 * 1024 + kept * 16 / 1024 ))
    echo
    printf '  %-34s %-22s %s\n' "stdin peak RSS <= 64 MiB + 16 B x $kept" \
        "$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f MiB", k / 1024 }')" \
        "$(check "$rss_kib <= $budget_kib")"
}

# ----------------------------------------------------------------------------------------------
# DNS section: 1M rows over 20,000 domains against the lab server on loopback, which adds
# 20 ms to every answer; cold, then warm with --cache.
bench_dns() {
    local data=$BENCH_DIR/contacts-1m.csv zones=$BENCH_DIR/zones-20k out=$BENCH_DIR/out-dns
    local cache=$BENCH_DIR/dns-cache.redb port_file=$BENCH_DIR/labdns.port
    # Zones from before they were written one per domain are made again.
    if [ ! -s "$data" ] || [ ! -s "$zones/gmail.com.zone" ]; then
        log "generating $data and its zones"
        rm -rf "$zones"
        "$RELEASE"/examples/gencontacts \
            --rows 1000000 --domains 20000 --seed 2 --out "$data.tmp" --zones-out "$zones"
        mv "$data.tmp" "$data"
    fi
    mkdir -p "$out"
    rm -f "$port_file" "$cache"
    "$RELEASE"/examples/labdns --zones "$zones" --delay-ms 20 --port-file "$port_file" >/dev/null &
    local server=$!
    # Expanded now: the RETURN trap runs after the local variable is gone.
    # shellcheck disable=SC2064
    trap "kill $server 2>/dev/null || true" RETURN
    # Loading 20,000 zone files takes a few seconds.
    for _ in $(seq 600); do [ -s "$port_file" ] && break; sleep 0.1; done
    local resolver
    resolver=$(cat "$port_file")
    log "lab DNS server on $resolver, 20 ms added to every answer"

    local clean=("$LISTCLEAN" clean "$data" -o "$out" --quiet)
    hyperfine --warmup 1 --runs 3 --export-csv "$BENCH_DIR/bench-dns.csv" --export-markdown "$BENCH_DIR/bench-dns.md" \
        -n "no-dns" "${clean[*]} --no-dns" \
        -n "dns" "${clean[*]} --resolver $resolver"
    # The first cached run fills the cache; the timed ones read it.
    "${clean[@]}" --resolver "$resolver" --cache "$cache"
    hyperfine --warmup 1 --runs 3 --export-csv "$BENCH_DIR/bench-dns-cached.csv" \
        -n "dns-cached" "${clean[*]} --resolver $resolver --cache $cache"
    "${clean[@]}" --resolver "$resolver" --cache "$cache"
    # The resolver library alone, one MX question per zone: the floor under the DNS part.
    local floor_line floor_cpu
    floor_line=$(/usr/bin/time -f '%U %S' -o "$BENCH_DIR/time-floor.txt" \
        "$RELEASE"/examples/resolverfloor "$resolver" "$zones")
    floor_cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$BENCH_DIR/time-floor.txt")
    local report=$out/contacts-1m.report.json
    local no_dns dns cached domains dns_seconds lookups
    no_dns=$(median_of "$BENCH_DIR/bench-dns.csv" no-dns)
    dns=$(median_of "$BENCH_DIR/bench-dns.csv" dns)
    cached=$(median_of "$BENCH_DIR/bench-dns-cached.csv" dns-cached)
    "${clean[@]}" --resolver "$resolver"
    domains=$(python3 -c "import json; print(json.load(open('$report'))['dns']['unique_domains'])")
    dns_seconds=$(python3 -c "import json; print(json.load(open('$report'))['dns']['seconds'])")
    lookups=$(python3 -c "import json; print(json.load(open('$report'))['dns']['lookups'])")
    local floor rate
    floor=$(awk "BEGIN { a = $no_dns; b = $domains * 0.020 / 256; print (a > b) ? a : b }")
    rate=$(awk "BEGIN { printf \"%.0f\", $domains / $dns_seconds }")
    printf '\n| figure | measured | target | met |\n|---|---|---|---|\n'
    printf '| resolution throughput | %s domains/s (%s domains, %s lookups in %.2f s) | >= 5000 | %s |\n' \
        "$rate" "$domains" "$lookups" "$dns_seconds" "$(check "$rate >= 5000")"
    printf '| total with DNS | %.2f s | <= 1.25 x max(no-dns %.2f s, DNS floor) = %.2f s | %s |\n' \
        "$dns" "$no_dns" "$(awk "BEGIN { print 1.25 * $floor }")" "$(check "$dns <= 1.25 * $floor")"
    printf '| second run with --cache | %.2f s | <= 1.2 x no-dns = %.2f s | %s |\n' \
        "$cached" "$(awk "BEGIN { print 1.2 * $no_dns }")" "$(check "$cached <= 1.2 * $no_dns")"
    printf '| resolver library alone, no rows | %s; %s s CPU | (the floor under the DNS part) | |\n' \
        "$floor_line" "$floor_cpu"
}
# ----------------------------------------------------------------------------------------------

main() {
    local reference_only=no
    case "${1:-}" in
        "") ;;
        dns)
            ensure_tools
            # Everything in one build: see release_build in scripts/common.sh.
            release_build "listclean and the DNS benchmark's examples" --bin listclean \
                --example gencontacts --example labdns --example resolverfloor
            print_machine
            bench_dns
            return
            ;;
        --reference-only) reference_only=yes ;;
        -h | --help)
            sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
            return
            ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac

    ensure_tools
    if [ "$reference_only" = yes ]; then
        release_build "the data generator" --example gencontacts
    else
        # listclean and the data generator in one build: see release_build in scripts/common.sh.
        release_build "listclean and the data generator" \
            --bin listclean --example gencontacts
        [ -x "$LISTCLEAN" ] || die "$LISTCLEAN not found after the build"
        if [ "$PGO" = yes ]; then
            log "building listclean with profile-guided optimization"
            bash scripts/pgo.sh || log "no PGO build: timing the release build alone"
        fi
    fi
    generate_data
    print_machine
    bench_clean "$reference_only"
}

main "$@"
