#!/usr/bin/env bash
# `make bench`: time from `enclava vm launch --backend sim` to ready (the bridge's first Health = ready through the
# booted VM), for the fraud detector in a sim bundle on Debian's cloud kernel under QEMU software emulation (these
# machines cannot run a nested KVM guest). ROUNDS launches; prints each and the median. A missing QEMU or kernel
# fails the benchmark (`make vm-kernel` provides both).
# Usage: bench-vm.sh BIN_DIR VM_KERNEL_DIR [ROUNDS] [RUNTIME]   (RUNTIME: the one the bundle holds, e.g. make vm-runtime's)
set -euo pipefail
bin=$1; kernel_dir=$2; rounds=${3:-3}; runtime=${4:-$1/enclava-runtime}
enclava="$bin/enclava"
kernel=$(ls "$kernel_dir"/boot/vmlinuz-* 2>/dev/null | head -1 || true)
modules=$(ls -d "$kernel_dir"/lib/modules/* 2>/dev/null | head -1 || true)
[ -n "$kernel" ] && [ -n "$modules" ] || { echo "bench-vm: no guest kernel in $kernel_dir; run make vm-kernel" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "bench-vm: qemu-system-x86_64 is missing; run make vm-kernel" >&2; exit 1; }
work=$(mktemp -d /tmp/enclava-bench-vm.XXXXXX)
trap 'kill $launch_pid 2>/dev/null || true; rm -rf "$work"' EXIT
launch_pid=
export ENCLAVA_HOME="$work/home"
here=$(cd "$(dirname "$0")" && pwd)
"$enclava" sim init >/dev/null 2>&1
"$enclava" keygen --out "$work/signer.pem" >/dev/null
"$enclava" package --manifest "$here/fraud-detector/manifest.toml" --signer "$work/signer.pem" --out "$work/fraud.eimg" \
  --seal-for sim --runtime "$runtime" >/dev/null
"$enclava" vm build --backend sim --sim-home "$ENCLAVA_HOME" --image "$work/fraud.eimg" --kernel "$kernel" \
  --kernel-modules "$modules" --runtime "$runtime" --out "$work/bundle" >/dev/null
initrd_mib=$(( $(stat -c %s "$work/bundle/initrd.cpio.gz") >> 20 ))
times=()
for round in $(seq 1 "$rounds"); do
  port=$(( 20000 + RANDOM % 20000 ))
  "$enclava" vm launch --backend sim --bundle "$work/bundle" --vcpus 1 --memory 1G --listen "127.0.0.1:$port" \
    > "$work/launch.out" 2> "$work/launch.err" &
  launch_pid=$!
  for _ in $(seq 1 600); do grep -q "ready on" "$work/launch.out" && break; sleep 0.5; done
  line=$(grep "ready on" "$work/launch.out" || { echo "bench-vm: the VM did not become ready:" >&2; tail -5 "$work/launch.err" >&2; exit 1; })
  seconds=$(sed -E 's/.* ready ([0-9.]+) seconds after launch.*/\1/' <<<"$line")
  times+=("$seconds")
  kill -TERM "$launch_pid"; wait "$launch_pid" || true; launch_pid=
  printf 'vm launch → ready (sim, tcg, 1 vCPU, %d MiB initramfs): round %d  %.1f s\n' "$initrd_mib" "$round" "$seconds"
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'vm launch → ready (sim, tcg): median %.1f s over %d rounds\n' "$median" "$rounds"
