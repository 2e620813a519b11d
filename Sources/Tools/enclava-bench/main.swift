// enclava-bench: kernel benchmarks for `make bench` (a benchmark, not a test: nothing here asserts a time).
//
// Prints one `sgemm ...` line per (variant, threads, shape) with the median GFLOP/s over repeated runs
// (and a `+packedB` line with B packed once beforehand, as for model weights),
// in a `key=value` form that peers/sgemm_numpy.py reads to print ours / OpenBLAS per shape, then a short
// table of the row kernels (reference vs selected variant).
//
// With --minilm-only it prints one `minilm ...` line per (threads, batch, sequence) instead: MiniLM forward
// latency through EnclaveInference, which peers/minilm_onnxruntime.py compares with onnxruntime's.
//
// Usage: enclava-bench [--quick] [--sgemm-only | --rows-only] [--threads 1,2] [--shapes 128x384x384,...]
//        enclava-bench --minilm-only [--model PATH] [--threads 1,2] [--minilm-shapes 1x16,1x128,...] [--profile]
//        enclava-bench batching [--clients 16] [--requests 200] [--threads 1] [--max-batch 8]
//        enclava-bench load [--clients 64] [--duration 600] [--models fraud,minilm] [--threads N]
//        enclava-bench faults [--stuck-seconds 15]
//        enclava-bench startup [--rounds 3]
//        enclava-bench relay --c-relay PATH [--seconds 3] [--stream-mib 256]

import EnclaveKernels
import Foundation

// `enclava-bench end-to-end …`: the encrypted path beside the bare forward pass (EndToEndBenchmark.swift).
if CommandLine.arguments.dropFirst().first == "end-to-end" { EndToEndBenchmark.main(Array(CommandLine.arguments.dropFirst(2))) }
// `enclava-bench batching …`: 16 concurrent sessions before and after issue 8's batching rule (BatchingBenchmark.swift).
if CommandLine.arguments.dropFirst().first == "batching" { BatchingBenchmark.main(Array(CommandLine.arguments.dropFirst(2))) }

// `enclava-bench load …`: many clients against a real `enclava serve` for a fixed time (LoadBenchmark.swift).
if CommandLine.arguments.dropFirst().first == "load" { LoadBenchmark.main(Array(CommandLine.arguments.dropFirst(2))) }
// `enclava-bench relay …`: the host bridge per transport beside a minimal C relay (RelayBenchmark.swift).
if CommandLine.arguments.dropFirst().first == "relay" { RelayBenchmark.main(Array(CommandLine.arguments.dropFirst(2))) }
// `enclava-bench startup`: launch to ready for MiniLM per key release: sim, owner, broker, sealed restart (StartupBenchmark.swift).
if CommandLine.arguments.dropFirst().first == "startup" { StartupBenchmark.main(Array(CommandLine.arguments.dropFirst(2))) }
// `enclava-bench faults`: kill -9 / SIGSTOP / a client that stops reading, against a real serve (FaultsBenchmark.swift).
if CommandLine.arguments.dropFirst().first == "faults" { FaultsBenchmark.main(Array(CommandLine.arguments.dropFirst(2))) }

let options = BenchOptions(arguments: Array(CommandLine.arguments.dropFirst()))
print("# enclava-bench: cpu features: \(CPUFeatures.current); selected kernels: \(KernelSet.selected.isa)")
print("# 1-thread GFLOP/s use the calling thread's CPU time (robust on a shared machine); wall time is also shown.")
print("# Multi-thread rows use wall time. Median of \(options.quick ? "a few" : "many") runs after warm-up.")

let variants = options.sgemm ? KernelSet.available : []
for kernels in variants {
    for threads in options.threads {
        if kernels.isa == "ref" && threads > 1 { continue }
        for shape in options.shapes {
            let result = GEMMBenchmark(shape: shape, threads: threads, kernels: kernels, quick: options.quick).run()
            print(result.line)
            if kernels.isa != "ref" {   // weights packed once at load, as the executor can do
                print(GEMMBenchmark(shape: shape, threads: threads, kernels: kernels, quick: options.quick,
                                    prepackedB: true).run().line)
            }
        }
    }
}

if options.rows {
    print("# row kernels, 128 x 384 floats (one BERT-base activation block): ns per element, median")
    for line in RowKernelBenchmark(rows: 128, cols: 384, quick: options.quick).run() { print(line) }
}

if options.minilm {
    for threads in options.threads {
        do {
            for line in try MiniLMBenchmark(modelPath: options.model, threads: threads, shapes: options.minilmShapes,
                                            quick: options.quick, profile: options.profile).run() { print(line) }
        } catch {
            FileHandle.standardError.write(Data("enclava-bench: MiniLM benchmark failed: \(error)\n".utf8))
            exit(1)
        }
    }
}
