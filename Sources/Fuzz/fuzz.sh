#!/usr/bin/env bash
# Runs the libFuzzer targets that `make fuzz` built: each for FUZZ_SECONDS, seeded with the real evidence of
# ../shared/testdata/attestation (hex and base64 samples decoded), its corpus kept in the scratch path between
# runs. Exits non-zero when any target crashes, traps, leaks past the RSS limit or hangs on one input; the
# input is saved as <scratch>/artifacts/<target>-crash-… (reproduce: <bin>/<target> <that file>).
set -uo pipefail
bin="$1"; scratch="$2"; seconds="${3:-30}"; shift 3
targets=("$@")
shared="${ENCLAVA_SHARED:-../shared}/testdata/attestation"
seeds="$scratch/seeds"
rm -rf "$seeds"; mkdir -p "$seeds" "$scratch/artifacts"

seed() {  # seed TARGET FILE…: copies (or decodes) samples into the target's seed folder
    local target="$1"; shift
    mkdir -p "$seeds/$target"
    for file in "$@"; do
        [ -f "$file" ] || { echo "fuzz: seed $file is missing" >&2; continue; }
        local out="$seeds/$target/$(basename "$file")"
        case "$file" in
            *.hex) python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read()))' < "$file" > "$out" ;;
            *.b64) base64 -d < "$file" > "$out" ;;
            *) cp "$file" "$out" ;;
        esac
    done
}
seed FuzzSNPReport "$shared"/sev-snp/*/*.bin "$shared"/sev-snp/virtee-sev/report_milan.hex
seed FuzzTDXQuote "$shared"/tdx/trustee/tdx_quote_4.dat "$shared"/tdx/go-tdx-guest/*.dat "$shared"/tdx/dcap-qvl/tdx_quote \
    "$shared"/tdx/dcap-qvl/tdx_quote_outdated
seed FuzzSGXQuote "$shared"/sgx/trustee/occlum_quote.dat "$shared"/sgx/dcap-qvl/sgx_quote
# Intel collateral: dcap-qvl JSON and PCS responses.
seed FuzzQuoteCollateral "$shared"/tdx/dcap-qvl/*.json "$shared"/sgx/dcap-qvl/*.json "$shared"/tdx/go-tdx-guest/sample_*
# Nitro: the two real documents, plus other COSE/CBOR samples for the decoder.
seed FuzzNitroDocument "$shared"/nitro/*/*.b64 "$shared"/arm-cca-psa/*/*.bin "$shared"/arm-cca-psa/*/*.cbor

failed=()
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    mkdir -p "$corpus"
    echo "==> $target: ${seconds}s, corpus $corpus, seeds $(ls "$seeds/$target" | wc -l)"
    if ! "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$scratch/artifacts/$target-" "$corpus" "$seeds/$target" > "$scratch/$target.log" 2>&1; then
        echo "==> $target FAILED (log: $scratch/$target.log):"
        grep -E "ERROR|Fatal error|SUMMARY|Test unit written|Base64" "$scratch/$target.log" | head -20
        failed+=("$target")
    else
        grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|DONE" "$scratch/$target.log" | tr '\n' ' '
        echo
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]}; inputs in $scratch/artifacts" >&2
    exit 1
fi
echo "fuzz: no crash in ${targets[*]} (${seconds}s each)"
