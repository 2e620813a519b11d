import EnclaveInference

/// Runs a batch of compatible requests as one model run (DESIGN.md §5): inputs are concatenated along
/// their leading dimension, and every output is split back by each request's rows.
///
/// Requests of different sessions share a run only when the engine's ``InferenceEngine/rowIndependence``
/// is proven; otherwise a batch that spans sessions (which the queue's compatibility rule should never
/// form) is run one session at a time. When anything does not fit — a single request, an output without
/// the batch dimension, or a model error — each request runs alone, so that every refusal still names its
/// own input.
enum InferenceBatch {
    static func run(_ jobs: [InferenceJob], engine: any InferenceEngine, textEngine: (any TextEngine)? = nil) {
        let sessions = sessionGroups(jobs)
        if sessions.count > 1 && !engine.rowIndependence.isProven {
            for group in sessions { run(group, engine: engine, textEngine: textEngine) }
            return
        }
        guard jobs.count > 1, let outputs = try? runTogether(jobs, engine: engine) else {
            for job in jobs { job.runAlone(engine: engine, textEngine: textEngine) }
            return
        }
        for (job, result) in zip(jobs, outputs) { job.answer(with: InferenceJob.result(outputs: result)) }
    }

    /// The jobs grouped by session, in the order each session first appears.
    static func sessionGroups(_ jobs: [InferenceJob]) -> [[InferenceJob]] {
        var groups: [[InferenceJob]] = []
        var index: [[UInt8]: Int] = [:]
        for job in jobs {
            if let existing = index[job.request.sessionID] {
                groups[existing].append(job)
            } else {
                index[job.request.sessionID] = groups.count
                groups.append([job])
            }
        }
        return groups
    }

    /// The per-request outputs of one combined run, or nil when the batch must be split up.
    static func runTogether(_ jobs: [InferenceJob], engine: any InferenceEngine) throws -> [[String: HostTensor]]? {
        var rows: [Int] = []
        var parts: [[String: HostTensor]] = []
        for job in jobs {
            guard case .inputs(let inputs, let count, _?) = job.prepared else { return nil }
            rows.append(count)
            parts.append(inputs)
        }
        guard let combined = concatenate(parts, rows: rows) else { return nil }
        let outputs = try engine.run(combined)
        return split(outputs, rows: rows)
    }

    /// Concatenates same-named inputs along dimension 0.
    static func concatenate(_ parts: [[String: HostTensor]], rows: [Int]) -> [String: HostTensor]? {
        guard let first = parts.first else { return nil }
        let total = rows.reduce(0, +)
        var combined: [String: HostTensor] = [:]
        for (name, tensor) in first {
            var data = TensorBytes()  // secure memory, like the parts
            for part in parts {
                guard let piece = part[name], piece.dtype == tensor.dtype,
                      Array(piece.shape.dropFirst()) == Array(tensor.shape.dropFirst()) else { return nil }
                data.append(piece.data)
            }
            combined[name] = HostTensor(dtype: tensor.dtype, shape: [total] + tensor.shape.dropFirst(), data: data)
        }
        return combined
    }

    /// Splits every output along dimension 0 by `rows`, or nil when an output lacks that dimension.
    static func split(_ outputs: [String: HostTensor], rows: [Int]) -> [[String: HostTensor]]? {
        let total = rows.reduce(0, +)
        var results = [[String: HostTensor]](repeating: [:], count: rows.count)
        for (name, tensor) in outputs {
            guard tensor.shape.first == total, total > 0, tensor.data.count % total == 0 else { return nil }
            let rowBytes = tensor.data.count / total
            var offset = 0
            for (index, count) in rows.enumerated() {
                let bytes = tensor.data.extracting(offset..<(offset + count * rowBytes))
                results[index][name] = HostTensor(dtype: tensor.dtype, shape: [count] + tensor.shape.dropFirst(), data: bytes)
                offset += count * rowBytes
            }
        }
        return results
    }
}
