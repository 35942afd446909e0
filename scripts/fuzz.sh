#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets) for FUZZ_SECONDS (default 600), seeding the
# corpus from tests/data/ and samples/ (the resume target makes its own work files). cargo-fuzz needs nightly features: on a stable
# toolchain RUSTC_BOOTSTRAP=1 enables them, and -s none skips the sanitizer runtime.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/address corpus/reader
python3 - <<'PY'
import csv, json, pathlib
out = pathlib.Path("corpus/address")
for name, col in [("japanese.tsv", "input"), ("isemail.tsv", "address"), ("python_email_validator.tsv", "input")]:
    with open(f"../tests/data/syntax/{name}", newline="") as f:
        for i, row in enumerate(csv.DictReader(f, delimiter="\t")):
            try:
                (out / f"{name}-{i}").write_bytes(json.loads('"' + row[col] + '"').encode("utf-8"))
            except (ValueError, UnicodeEncodeError):
                pass
for sample in pathlib.Path("../samples").glob("*.csv"):
    data = sample.read_bytes()
    for i in range(0, len(data), 2048):
        pathlib.Path("corpus/reader", f"{sample.stem}-{i}").write_bytes(data[i:i + 2048])
PY
mkdir -p corpus/resume
for target in address reader resume; do
  RUSTC_BOOTSTRAP=1 cargo fuzz run -s none "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=4096
done
