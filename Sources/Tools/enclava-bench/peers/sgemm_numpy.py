#!/usr/bin/env python3
"""The SGEMM peer for `make bench`: numpy's matmul (OpenBLAS) in float32 on the same BERT shapes as
enclava-bench, timed the same way (median; 1 thread from the calling thread's CPU time, more threads from
wall time), then, given enclava-bench's output (--ours FILE), a table of ours / OpenBLAS per shape.

Each thread count runs in a child process started with OPENBLAS_NUM_THREADS (and OMP/MKL) set before numpy is
imported, and the child checks with threadpoolctl that OpenBLAS really runs that many threads, then prints the
kernel OpenBLAS chose. numpy and threadpoolctl are required: without them the benchmark fails (`make bench`
installs them into its own virtual environment). Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so
OpenBLAS picks its own kernel for this CPU (the Makefile does).

Rows of ours marked `+packedB` multiply by a B packed once beforehand (as the executor does for weights); numpy
packs on every call, so those rows are printed but marked not comparable.

With --bench BINARY it runs enclava-bench itself, alternating with its own measurements for --rounds
rounds, and compares the best round's median on each side: on a shared machine the load changes from
minute to minute, and alternating rounds lets both sides see the same conditions.

usage: sgemm_numpy.py [--ours FILE | --bench BINARY [--rounds N]] [--threads 1,2] [--quick]
"""
import argparse
import os
import re
import subprocess
import sys
import time

SHAPES = [(128, 384, 384), (128, 384, 1536), (128, 1536, 384), (512, 512, 512)]


def measure(np, m, k, n, threads, quick):
    rng = np.random.default_rng(12345)
    a = rng.random((m, k), dtype=np.float32) - 0.5
    b = rng.random((k, n), dtype=np.float32) - 0.5
    c = np.empty((m, n), dtype=np.float32)
    flops = 2.0 * m * n * k
    np.matmul(a, b, out=c)
    np.matmul(a, b, out=c)
    walls, cpus = [], []
    budget = 0.15 if quick else 0.6
    start = time.perf_counter()
    while len(walls) < 5 or (time.perf_counter() - start < budget and len(walls) < 400):
        w0, c0 = time.perf_counter(), time.thread_time()
        np.matmul(a, b, out=c)
        w1, c1 = time.perf_counter(), time.thread_time()
        walls.append(w1 - w0)
        cpus.append(c1 - c0)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    wall_rate = flops / med(walls) * 1e-9
    cpu_rate = flops / med(cpus) * 1e-9 if threads == 1 else wall_rate
    return cpu_rate, wall_rate, len(walls)


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def measure_in_this_process(threads, quick):
    """Child mode: numpy was imported after OPENBLAS_NUM_THREADS was set; check it, then measure every shape."""
    try:
        import numpy as np
        from threadpoolctl import threadpool_info
    except ImportError as error:
        print("sgemm peer: %s; install numpy and threadpoolctl (make bench does, in its own venv)" % error, file=sys.stderr)
        return 2
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not infos:
        print("sgemm peer: threadpoolctl finds no BLAS behind numpy %s" % np.__version__, file=sys.stderr)
        return 3
    actual = infos[0].get("num_threads")
    if actual != threads:
        print("sgemm peer: OpenBLAS runs %s threads, not the %d asked for with OPENBLAS_NUM_THREADS" % (actual, threads),
              file=sys.stderr)
        return 3
    print("# peer: numpy %s matmul, float32, %s %s, kernel %s, threads=%d (checked with threadpoolctl)"
          % (np.__version__, infos[0].get("internal_api"), infos[0].get("version"), infos[0].get("architecture"), actual))
    for m, k, n in SHAPES:
        cpu, wall, runs = measure(np, m, k, n, threads, quick)
        print("sgemm peer=openblas threads=%d shape=%dx%dx%d gflops=%.1f wall_gflops=%.1f runs=%d"
              % (threads, m, k, n, cpu, wall, runs))
    return 0


def run_child(threads, quick):
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    command = [sys.executable, os.path.abspath(__file__), "--measure-threads", str(threads)] + (["--quick"] if quick else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    return done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours", help="enclava-bench output to compare against")
    parser.add_argument("--bench", help="enclava-bench binary to run, alternating rounds with numpy")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--measure-threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_threads:
        return measure_in_this_process(args.measure_threads, args.quick)
    peer = {}
    ours_text = ""
    thread_counts = [int(t) for t in args.threads.split(",") if t]
    rounds = max(1, args.rounds) if args.bench else 1
    pattern_peer = re.compile(r"sgemm peer=openblas threads=(\d+) shape=(\S+) gflops=([\d.]+)")
    for round_index in range(rounds):
        if args.bench:
            command = [args.bench, "--sgemm-only", "--threads", ",".join(map(str, thread_counts))]
            if args.quick:
                command.append("--quick")
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            ours_text += output
            print("# round %d/%d" % (round_index + 1, rounds))
            print("\n".join(line for line in output.splitlines() if line.startswith("sgemm")))
        for threads in thread_counts:
            output = run_child(threads, args.quick)
            sys.stdout.write(output)
            for line in output.splitlines():
                found = pattern_peer.match(line)
                if found:
                    key = (int(found.group(1)), found.group(2))
                    peer[key] = max(peer.get(key, 0.0), float(found.group(3)))
    if args.ours:
        with open(args.ours) as handle:
            ours_text += handle.read()
    if not ours_text:
        return 0
    ours = {}
    pattern = re.compile(r"sgemm variant=(\S+) threads=(\d+) shape=(\S+) gflops=([\d.]+)")
    for line in ours_text.splitlines():
        found = pattern.match(line)
        if found:
            key = (found.group(1), int(found.group(2)), found.group(3))
            ours[key] = max(ours.get(key, 0.0), float(found.group(4)))
    print()
    print("# best of %d round(s) per side; 1 thread from CPU time, more threads from wall time" % rounds)
    print("# +packedB rows pack B once beforehand (as for weights); numpy packs on every call: not comparable")
    print("%-34s %7s %-14s %10s %10s %8s" % ("variant", "threads", "M x K x N", "ours", "OpenBLAS", "ratio"))
    for (variant, threads, shape), rate in sorted(ours.items(), key=lambda item: (item[0][0], item[0][1])):
        reference = peer.get((threads, shape))
        if reference is None:
            continue
        if variant.endswith("+packedB"):
            print("%-34s %7d %-14s %10.1f %10.1f %8s" % (variant, threads, shape, rate, reference, "n/c"))
        else:
            print("%-34s %7d %-14s %10.1f %10.1f %7.0f%%" % (variant, threads, shape, rate, reference, 100.0 * rate / reference))
    return 0


if __name__ == "__main__":
    sys.exit(main())
