#!/usr/bin/env bash
# Short fuzzing run over every parser of untrusted bytes (STYLE.md §11).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 20)
#
# Builds the cargo-fuzz project in fuzz/ (outside the workspace) once, then runs each of
# its targets for SECONDS_PER_TARGET seconds, starting from the committed seeds in
# fuzz/seeds/<target>/ (read only) plus the scratch corpus fuzz/corpus/<target>/
# (gitignored; new inputs go there). Exits non-zero if any target crashes, fails an
# assertion, hangs or runs out of memory, printing the artifact that reproduces it
# (`cargo fuzz run <target> <artifact>` replays it).
#
# Toolchain: `cargo +nightly fuzz` when a nightly toolchain is installed; otherwise the
# pinned stable (rust-toolchain.toml) with RUSTC_BOOTSTRAP=1, since cargo-fuzz passes -Z
# flags. Both build with AddressSanitizer; FUZZ_SANITIZER=none turns it off.
# Installs cargo-fuzz if it is missing.
set -euo pipefail

secs="${1:-20}"
if [[ ! "$secs" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi
sanitizer="${FUZZ_SANITIZER:-address}"

cd "$(dirname "$0")/../fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

toolchains="$(rustup toolchain list 2>/dev/null || true)"
if [[ "$toolchains" == *nightly* ]]; then
    fuzz=(cargo +nightly fuzz)
    replay="cargo +nightly fuzz"
    echo "== toolchain: nightly ($(rustc +nightly --version))"
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
    replay="RUSTC_BOOTSTRAP=1 cargo fuzz"
    echo "== toolchain: pinned stable ($(rustc --version)) with RUSTC_BOOTSTRAP=1"
fi

echo "== building fuzz targets (sanitizer: $sanitizer)"
"${fuzz[@]}" build --sanitizer "$sanitizer"

mapfile -t targets < <("${fuzz[@]}" list)
if ((${#targets[@]} == 0)); then
    echo "no fuzz targets found in fuzz/" >&2
    exit 1
fi
stamp="$(mktemp)"
trap 'rm -f "$stamp"' EXIT
failed=()
for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${secs}s"
    mkdir -p "corpus/$target" "artifacts/$target"
    corpora=("corpus/$target")
    if [[ -d "seeds/$target" ]]; then
        corpora+=("seeds/$target")
    fi
    if ! "${fuzz[@]}" run --sanitizer "$sanitizer" "$target" "${corpora[@]}" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=0; then
        failed+=("$target")
        while IFS= read -r artifact; do
            echo "!! $target: artifact $PWD/$artifact"
            echo "!!   replay: (cd fuzz && $replay run --sanitizer $sanitizer $target $artifact)"
        done < <(find "artifacts/$target" -type f -newer "$stamp")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "== FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "== fuzzed ${#targets[@]} targets for ${secs}s each: no crash"
