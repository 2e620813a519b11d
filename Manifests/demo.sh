#!/usr/bin/env bash
# `make demo`: the whole confidential-inference path on the simulation backend, on the bundled
# fraud-detection model: initialise the simulated platform, package the model into a signed image
# sealed to the runtime's measurement, launch the host bridge (which launches the enclave), attest,
# run one encrypted inference, print the result and the verified evidence, shut down cleanly.
#
# The simulated enclave can produce any of the hardware evidence formats, so that each verifier path
# runs end to end: snp (SEV-SNP report v3, the default), tdx (TDX quote v4) or sgx (SGX DCAP quote v3).
#
# How the enclave gets the model key (`--keys`, default $KEYS, then sealed):
#   sealed  the key is sealed for the simulator at packaging (`--seal-for sim`): the enclave starts on its own;
#   owner   the model owner keeps the key (`--owner-key-out`): the enclave starts waiting for it, and
#           `enclava provision` verifies its evidence and releases the key to it (`make demo KEYS=owner`).
#
# Usage: Manifests/demo.sh BIN_DIR [--sim-format snp|tdx|sgx] [--keys sealed|owner]   (BIN_DIR holds `enclava`
#        and `enclava-runtime`; the format defaults to $SIM_FORMAT, then snp — `make demo SIM_FORMAT=tdx`)
set -euo pipefail
usage="usage: demo.sh BIN_DIR [--sim-format snp|tdx|sgx] [--keys sealed|owner]"
bin=${1:?$usage}
shift
format=${SIM_FORMAT:-snp}
keys=${KEYS:-sealed}
while [ $# -gt 0 ]; do
  case "$1" in
    --sim-format) format=${2:?--sim-format needs snp, tdx or sgx}; shift 2 ;;
    --sim-format=*) format=${1#--sim-format=}; shift ;;
    --keys) keys=${2:?--keys needs sealed or owner}; shift 2 ;;
    --keys=*) keys=${1#--keys=}; shift ;;
    *) echo "demo.sh: unknown argument $1 ($usage)" >&2; exit 2 ;;
  esac
done
case "$keys" in
  sealed|owner) ;;
  *) echo "demo.sh: --keys must be sealed or owner, not \`$keys'" >&2; exit 2 ;;
esac
case "$format" in
  snp) evidence="an SEV-SNP report v3 under the simulated ARK" ;;
  tdx) evidence="a TDX quote v4 under the simulated Intel PCK chain" ;;
  sgx) evidence="an SGX DCAP quote v3 under the simulated Intel PCK chain" ;;
  *) echo "demo.sh: --sim-format must be snp, tdx or sgx, not \`$format'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
model_dir="$here/fraud-detector"
work=$(mktemp -d -t enclava-demo.XXXXXX)
export ENCLAVA_HOME="$work/home"      # a throw-away simulated platform; your ~/.enclava is untouched
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -TERM "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
enclava="$bin/enclava"

total=6
[ "$keys" = owner ] && total=7
step "1/$total initialise the simulated platform (SEV-SNP and Intel hierarchies)"
"$enclava" sim init

if [ "$keys" = owner ]; then
  step "2/$total make a signing key and package the model; the owner keeps its key (owner.key, 0600)"
  "$enclava" keygen --out "$work/signer.pem"
  # The same model, with [keys] release = "owner": only a commitment to the key goes into the signed image.
  sed 's/^release = "sealed"/release = "owner"/' "$model_dir/manifest.toml" > "$work/manifest.toml"
  "$enclava" package --manifest "$work/manifest.toml" --asset-root "$model_dir" --signer "$work/signer.pem" \
    --out "$work/fraud.eimg" --owner-key-out "$work/owner.key"
else
  step "2/$total make a signing key and package the model (sealed to the runtime's measurement)"
  "$enclava" keygen --out "$work/signer.pem"
  "$enclava" package --manifest "$model_dir/manifest.toml" --signer "$work/signer.pem" \
    --out "$work/fraud.eimg" --seal-for sim
fi
"$enclava" inspect "$work/fraud.eimg"

who="the client"
[ "$keys" = owner ] && who="the owner and the client"
step "3/$total pin what $who will accept: this image, this runtime, $format evidence, simulation allowed"
"$enclava" policy create --image "$work/fraud.eimg" --allow-simulation --sim-format "$format" --out "$work/policy.json"

step "4/$total launch the host bridge and the enclave (it will answer with $evidence)"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 17443)
"$enclava" serve --image "$work/fraud.eimg" --backend sim --sim-format "$format" --listen "127.0.0.1:$port" --log-level warning &
serve_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$serve_pid" 2>/dev/null || { echo "host bridge exited early" >&2; exit 1; }
  sleep 0.2
done

if [ "$keys" = owner ]; then
  step "5/$total the owner verifies the waiting enclave's evidence, then releases the key sealed to it"
  "$enclava" provision --endpoint "127.0.0.1:$port" --policy "$work/policy.json" --owner-key "$work/owner.key"
fi

step "$((total - 1))/$total attest and run an encrypted inference (input: $(basename "$model_dir")/sample-input.json)"
"$enclava" infer --endpoint "127.0.0.1:$port" --policy "$work/policy.json" \
  --input "features=@$model_dir/sample-input.json"

step "$total/$total shut down"
kill -TERM "$serve_pid"
wait "$serve_pid"
serve_pid=""
echo "done: the host bridge relayed only ciphertext; the result above was decrypted by this client."
