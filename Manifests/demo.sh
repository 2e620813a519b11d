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
#           `enclava provision` verifies its evidence and releases the key to it (`make demo KEYS=owner`);
#   broker  a key broker holds the key (`enclava keybroker`): the enclave asks it itself through the host bridge,
#           which forwards to that one address; the enclave keeps the key as sealed state, and a restart with the
#           broker stopped is ready on its own (`make demo KEYS=broker`).
#
# Usage: Manifests/demo.sh BIN_DIR [--sim-format snp|tdx|sgx] [--keys sealed|owner|broker]   (BIN_DIR holds `enclava`
#        and `enclava-runtime`; the format defaults to $SIM_FORMAT, then snp — `make demo SIM_FORMAT=tdx`)
set -euo pipefail
usage="usage: demo.sh BIN_DIR [--sim-format snp|tdx|sgx] [--keys sealed|owner|broker]"
bin=${1:?$usage}
shift
format=${SIM_FORMAT:-snp}
keys=${KEYS:-sealed}
while [ $# -gt 0 ]; do
  case "$1" in
    --sim-format) format=${2:?--sim-format needs snp, tdx or sgx}; shift 2 ;;
    --sim-format=*) format=${1#--sim-format=}; shift ;;
    --keys) keys=${2:?--keys needs sealed, owner or broker}; shift 2 ;;
    --keys=*) keys=${1#--keys=}; shift ;;
    *) echo "demo.sh: unknown argument $1 ($usage)" >&2; exit 2 ;;
  esac
done
case "$keys" in
  sealed|owner|broker) ;;
  *) echo "demo.sh: --keys must be sealed, owner or broker, not \`$keys'" >&2; exit 2 ;;
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
broker_pid=""
cleanup() {
  for pid in "$serve_pid" "$broker_pid"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
enclava="$bin/enclava"

total=6
[ "$keys" = owner ] && total=7
[ "$keys" = broker ] && total=9
free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo "$1"
}
# Waits until something accepts connections on 127.0.0.1:$1 while process $2 runs.
wait_for_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 exited early" >&2; exit 1; }
    sleep 0.2
  done
  echo "$3 did not start listening on port $1" >&2
  exit 1
}
step "1/$total initialise the simulated platform (SEV-SNP and Intel hierarchies)"
"$enclava" sim init

if [ "$keys" != sealed ]; then
  step "2/$total make a signing key and package the model; the owner keeps its key (owner.key, 0600)"
  "$enclava" keygen --out "$work/signer.pem"
  # The same model, with [keys] release = "owner" or "broker": only a commitment to the key goes into the image.
  sed "s/^release = \"sealed\"/release = \"$keys\"/" "$model_dir/manifest.toml" > "$work/manifest.toml"
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
[ "$keys" = broker ] && who="the key broker and the client"
step "3/$total pin what $who will accept: this image, this runtime, $format evidence, simulation allowed"
"$enclava" policy create --image "$work/fraud.eimg" --allow-simulation --sim-format "$format" --out "$work/policy.json"

serve_extra=()
if [ "$keys" = broker ]; then
  step "4/$total the key broker: a store (master key 0600, SQLite), the image's key with that policy, and its server"
  "$enclava" keybroker init --store "$work/broker"
  "$enclava" keybroker add --store "$work/broker" --image "$work/fraud.eimg" --owner-key "$work/owner.key" \
    --policy "$work/policy.json"
  broker_port=$(free_port 17444)
  "$enclava" keybroker serve --store "$work/broker" --listen "127.0.0.1:$broker_port" --log-level warning &
  broker_pid=$!
  wait_for_port "$broker_port" "$broker_pid" "the key broker"
  serve_extra=(--key-broker "127.0.0.1:$broker_port" --state-dir "$work/state")
fi

launch_step=4
[ "$keys" = broker ] && launch_step=5
step "$launch_step/$total launch the host bridge and the enclave (it will answer with $evidence)"
port=$(free_port 17443)
launch() {
  "$enclava" serve --image "$work/fraud.eimg" --backend sim --sim-format "$format" --listen "127.0.0.1:$port" \
    --log-level warning "${serve_extra[@]}" &
  serve_pid=$!
  wait_for_port "$port" "$serve_pid" "host bridge"
}
launch

if [ "$keys" = owner ]; then
  step "5/$total the owner verifies the waiting enclave's evidence, then releases the key sealed to it"
  "$enclava" provision --endpoint "127.0.0.1:$port" --policy "$work/policy.json" --owner-key "$work/owner.key"
fi

infer() {
  "$enclava" infer --endpoint "127.0.0.1:$port" --policy "$work/policy.json" \
    --input "features=@$model_dir/sample-input.json"
}
if [ "$keys" = broker ]; then
  step "6/$total the enclave asks the broker itself (its evidence binds the broker's nonce); then attest and infer"
  # The release runs in the background of the enclave's start: sessions wait for it (WAITING_FOR_KEY).
  for _ in $(seq 1 100); do infer > "$work/infer.out" 2> "$work/infer.err" && break; sleep 0.2; done
  cat "$work/infer.out"
  [ -s "$work/infer.out" ] || { cat "$work/infer.err" >&2; exit 1; }

  step "7/$total the broker's audit log: what the enclave proved to receive the key"
  "$enclava" keybroker log --store "$work/broker" --last 1

  step "8/$total stop the enclave and the broker; restart the enclave: it opens its sealed state, no broker needed"
  kill -TERM "$serve_pid"; wait "$serve_pid"; serve_pid=""
  kill -TERM "$broker_pid"; wait "$broker_pid"; broker_pid=""
  ls -l "$work/state"
  launch
  infer
else
  step "$((total - 1))/$total attest and run an encrypted inference (input: $(basename "$model_dir")/sample-input.json)"
  infer
fi

step "$total/$total shut down"
kill -TERM "$serve_pid"
wait "$serve_pid"
serve_pid=""
echo "done: the host bridge relayed only ciphertext; the result above was decrypted by this client."
