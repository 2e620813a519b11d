#!/usr/bin/env python3
"""The MiniLM peer for `make bench`: onnxruntime (CPUExecutionProvider) running the same model.onnx on the
same inputs as `enclava-bench --minilm-only`, at the same thread count (intra_op_num_threads = threads,
inter_op_num_threads = 1, sequential execution), timed the same way: median over repeated runs, 1 thread
from the calling thread's CPU time (onnxruntime runs a 1-thread session on the calling thread), more
threads from wall time. Then a table of ours / onnxruntime per (threads, batch, sequence).

With --bench BINARY it runs enclava-bench itself, alternating with its own measurements for --rounds
rounds, and compares the best round's median on each side: on a shared machine the load changes from
minute to minute, and alternating rounds lets both sides see the same conditions.

usage: minilm_onnxruntime.py --bench BINARY [--model PATH] [--rounds N] [--threads 1,2]
                             [--shapes 1x16,1x128,8x128,1x256] [--quick]
"""
import argparse
import re
import subprocess
import sys
import time

DEFAULT_MODEL = "../shared/models/all-MiniLM-L6-v2/model.onnx"
DEFAULT_SHAPES = "1x16,1x128,8x128,1x256"


def inputs_for(np, batch, sequence):
    n = batch * sequence
    ids = (1000 + np.arange(n, dtype=np.int64) % 5000).reshape(batch, sequence)
    return {"input_ids": ids, "attention_mask": np.ones((batch, sequence), dtype=np.int64),
            "token_type_ids": np.zeros((batch, sequence), dtype=np.int64)}


def measure(session, feeds, threads, quick):
    session.run(None, feeds)
    session.run(None, feeds)
    walls, cpus = [], []
    budget = 0.1 if quick else 0.4
    start = time.perf_counter()
    while len(walls) < 5 or (time.perf_counter() - start < budget and len(walls) < 200):
        w0, c0 = time.perf_counter(), time.thread_time()
        session.run(None, feeds)
        w1, c1 = time.perf_counter(), time.thread_time()
        walls.append(w1 - w0)
        cpus.append(c1 - c0)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    times = cpus if threads == 1 else walls
    return med(times) * 1e3, min(times) * 1e3, len(walls)


def session_for(ort, model, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    configured = session.get_session_options()
    if configured.intra_op_num_threads != threads or configured.inter_op_num_threads != 1:
        raise SystemExit("minilm peer: onnxruntime runs intra_op %d / inter_op %d threads, not %d / 1"
                         % (configured.intra_op_num_threads, configured.inter_op_num_threads, threads))
    return session


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True, help="enclava-bench binary to run, alternating rounds with onnxruntime")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--shapes", default=DEFAULT_SHAPES)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",") if t]
    shapes = [tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",") if s]
    command = [args.bench, "--minilm-only", "--model", args.model, "--threads", ",".join(map(str, thread_counts)),
               "--minilm-shapes", args.shapes] + (["--quick"] if args.quick else [])
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as error:
        print("minilm peer: %s; install onnxruntime and numpy (make bench does, in its own venv)" % error, file=sys.stderr)
        return 2
    print("# peer: onnxruntime %s, CPUExecutionProvider, intra_op_num_threads = threads, inter_op_num_threads = 1"
          % ort.__version__)
    ours, peer = {}, {}
    pattern = re.compile(r"minilm runner=enclava threads=(\d+) batch=(\d+) seq=(\d+) ms=([\d.]+)")
    rounds = max(1, args.rounds)
    for round_index in range(rounds):
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        print("# round %d/%d" % (round_index + 1, rounds))
        for line in output.splitlines():
            found = pattern.match(line)
            if found:
                print(line)
                key = (int(found.group(1)), int(found.group(2)), int(found.group(3)))
                ours[key] = min(ours.get(key, float("inf")), float(found.group(4)))
        for threads in thread_counts:
            session = session_for(ort, args.model, threads)
            for batch, sequence in shapes:
                ms, min_ms, runs = measure(session, inputs_for(np, batch, sequence), threads, args.quick)
                key = (threads, batch, sequence)
                peer[key] = min(peer.get(key, float("inf")), ms)
                print("minilm runner=onnxruntime threads=%d batch=%d seq=%d ms=%.2f min_ms=%.2f runs=%d"
                      % (threads, batch, sequence, ms, min_ms, runs))
    print()
    print("# MiniLM forward latency, best of %d round(s) per side of each side's median;"
          " 1 thread from CPU time, 2 threads from wall time" % rounds)
    print("%7s %6s %8s %12s %14s %8s" % ("threads", "batch", "sequence", "ours ms", "onnxruntime ms", "ratio"))
    for key in sorted(ours):
        if key in peer:
            threads, batch, sequence = key
            print("%7d %6d %8d %12.2f %14.2f %7.2fx" % (threads, batch, sequence, ours[key], peer[key], ours[key] / peer[key]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
