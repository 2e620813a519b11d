#!/usr/bin/env bash
# Runs the libFuzzer targets that `make fuzz` built: each for FUZZ_SECONDS, seeded from real files — the real
# evidence of ../shared/testdata/attestation (hex and base64 samples decoded), ttrpc frames, enclava.v1 messages,
# an image, tensors and a policy written by the project's own encoders (each such target writes its seeds when run
# with ENCLAVA_FUZZ_WRITE_SEEDS), Manifests/*.toml, the ONNX models of ../shared, the golden tokenizer texts — its
# corpus kept in the scratch path between runs. Exits non-zero when any target crashes, traps, leaks past the RSS
# limit or hangs on one input; the input is saved as <scratch>/artifacts/<target>-crash-… (reproduce: <bin>/<target> <that file>).
set -uo pipefail
bin="$1"; scratch="$2"; seconds="${3:-30}"; shift 3
targets=("$@")
root="${ENCLAVA_SHARED:-../shared}"
shared="$root/testdata/attestation"
# Swift's own crash backtracer would take the signal before libFuzzer saves the crashing input.
export SWIFT_BACKTRACE=enable=no
export ENCLAVA_FUZZ_VOCAB="${ENCLAVA_FUZZ_VOCAB:-$root/models/all-MiniLM-L6-v2/vocab.txt}"
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
# Arm CCA (tag 399 collection) and PSA (2.0 and IoT-1) tokens.
seed FuzzCCAToken "$shared"/arm-cca-psa/*/*.cbor "$shared"/arm-cca-psa/*/*.bin

wants() { [[ " ${targets[*]} " == *" $1 "* ]]; }
generated() {  # generated TARGET [VAR=VALUE…]: the target writes its own seeds from the project's encoders
    local target="$1"; shift
    mkdir -p "$seeds/$target"
    env "$@" ENCLAVA_FUZZ_WRITE_SEEDS="$seeds/$target" "$bin/$target" || echo "fuzz: $target could not write its seeds" >&2
}
if wants FuzzTTRPCFrames; then generated FuzzTTRPCFrames; fi
if wants FuzzEnclaveMessages; then generated FuzzEnclaveMessages; fi
if wants FuzzKeyBrokerMessages; then generated FuzzKeyBrokerMessages; fi
if wants FuzzEnclaveEdge; then generated FuzzEnclaveEdge; fi
if wants FuzzImage; then
    generated FuzzImage ENCLAVA_FUZZ_MANIFEST=Manifests/fraud-detector/manifest.toml
    seed FuzzImage Manifests/*.toml Manifests/fraud-detector/manifest.toml
fi
if wants FuzzONNX; then  # tiny-bert, the fraud detector and every ONNX operator test model (MiniLM is too big)
    seed FuzzONNX "$root"/models/tiny-bert/model.onnx
    cp Manifests/fraud-detector/model.onnx "$seeds/FuzzONNX/fraud-detector.onnx"
    for model in "$root"/testdata/onnx-node/*/model.onnx; do
        cp "$model" "$seeds/FuzzONNX/$(basename "$(dirname "$model")").onnx"
    done
fi
if wants FuzzTokenizer; then
    mkdir -p "$seeds/FuzzTokenizer"
    python3 - "$root/models/all-MiniLM-L6-v2/golden/tokenization.json" "$seeds/FuzzTokenizer" <<'PY'
import json, sys
texts = json.load(open(sys.argv[1]))["texts"] + ["Ünïcödé naïve café 東京都 😀 ##ing [UNK] [CLS]", "a" * 300]
for i, text in enumerate(texts):
    open(f"{sys.argv[2]}/text-{i}.txt", "w", encoding="utf-8").write(text)
PY
fi
if wants FuzzCLIJSON; then
    generated FuzzCLIJSON
    seed FuzzCLIJSON Manifests/fraud-detector/sample-input.json
fi

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
