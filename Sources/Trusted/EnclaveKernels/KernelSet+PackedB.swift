internal import CEnclavaKernels
import Dispatch

/// A right-hand matrix op(B) (k × n) packed once in one variant's layout, for weights that every request
/// multiplies by: ``KernelSet/gemm(transA:m:k:alpha:a:lda:packedB:columns:beta:c:ldc:threads:)`` then
/// skips packing B, which for short sequences costs as much as the multiply.
///
/// The packed floats live in memory the caller owns (so model weights can stay in a `SealedRegion`);
/// a `PackedMatrix` is valid while that memory is, and only with the ``KernelSet`` that packed it.
public struct PackedMatrix: @unchecked Sendable {
    // @unchecked: read-only after packing; the caller keeps the storage alive and unmodified.
    let storage: UnsafeRawPointer
    let variant: String
    /// Depth (rows of op(B)).
    public let k: Int
    /// Columns of op(B).
    public let n: Int
}

extension KernelSet {
    /// Bytes ``packB(transB:k:n:b:ldb:into:)`` needs for a k × n op(B) in this variant's layout.
    public func packedByteCount(k: Int, n: Int) -> Int {
        precondition(k >= 0 && n >= 0, "packedByteCount: negative extent")
        _ = Self.elements(k, n, MemoryLayout<Float>.stride, "packedByteCount")
        return table.pointee.f32_gemm.packed_b_bytes(n, k)
    }

    /// Packs op(B) into `storage` (64-byte aligned, at least ``packedByteCount(k:n:)`` bytes).
    /// - Parameters:
    ///   - transB: when true, `b` holds an n×k matrix (row stride `ldb`) and op(B) is its transpose.
    public func packB(transB: Bool = false, k: Int, n: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                      into storage: UnsafeMutableRawBufferPointer) -> PackedMatrix {
        let needB = transB ? Self.matrixSpan(rows: n, columns: k, leading: ldb) : Self.matrixSpan(rows: k, columns: n, leading: ldb)
        precondition(b.count >= needB, "packB: B holds \(b.count) floats, needs \(needB)")
        let bytes = packedByteCount(k: k, n: n)
        precondition(storage.count >= bytes, "packB: storage holds \(storage.count) bytes, needs \(bytes)")
        guard let base = storage.baseAddress else {
            preconditionFailure("packB: storage has no memory")
        }
        precondition(Int(bitPattern: base) % 64 == 0, "packB: storage must be 64-byte aligned")
        if k > 0 && n > 0 {
            table.pointee.f32_gemm.pack_b(transB ? 1 : 0, n, k, b.baseAddress, ldb, base.assumingMemoryBound(to: Float.self))
        }
        return PackedMatrix(storage: UnsafeRawPointer(base), variant: gemmVariant, k: k, n: n)
    }

    /// `C[m×n] = alpha · op(A) · B + beta · C` with a pre-packed B (all its `n` columns). When `beta` is 0,
    /// C is not read. Split across up to `threads` threads like ``gemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:threads:)``.
    /// - Parameter activation: applied in place to C afterwards (e.g. `.gelu` after a Linear layer), by each
    ///   thread to its own block while that block is still in cache.
    public func gemm(transA: Bool = false, m: Int, alpha: Float = 1, a: UnsafeBufferPointer<Float>, lda: Int,
                     packedB: PackedMatrix, beta: Float = 0, c: UnsafeMutableBufferPointer<Float>, ldc: Int,
                     threads: Int = 1, activation: UnaryKernel? = nil) {
        let (k, n) = (packedB.k, packedB.n)
        precondition(packedB.variant == gemmVariant, "gemm: B was packed by \(packedB.variant), not \(gemmVariant)")
        let needA = transA ? Self.matrixSpan(rows: k, columns: m, leading: lda) : Self.matrixSpan(rows: m, columns: k, leading: lda)
        precondition(a.count >= needA, "gemm: A holds \(a.count) floats, needs \(needA)")
        precondition(c.count >= Self.matrixSpan(rows: m, columns: n, leading: ldc), "gemm: C is too small for \(m)×\(n), ldc \(ldc)")
        precondition((1...64).contains(threads), "gemm: threads must be 1…64, got \(threads)")
        guard m > 0, n > 0 else { return }
        let kernel = table.pointee.f32_gemm
        let plan = GEMMSplit(m: m, n: n, k: k, threads: threads, mr: kernel.mr, nr: kernel.nr)
        let (firstRows, firstColumns) = plan.block(0)
        // Only A's block is packed (B already is): ask for one column panel, not the part's columns, so a
        // short product does not allocate and wipe a B block it never uses.
        let workspaceBytes = kernel.workspace_bytes(firstRows.count, min(firstColumns.count, kernel.nr), k)
        let stride = (workspaceBytes + 63) & ~63
        let workspace = GEMMWorkspace(bytes: stride * plan.parts)
        defer { workspace.release() }
        let job = PrepackedJob(kernel: kernel, plan: plan, transA: transA, k: k, alpha: alpha, a: a.baseAddress,
                               lda: lda, packed: packedB.storage.assumingMemoryBound(to: Float.self), packedN: n,
                               beta: beta, c: c.baseAddress!, ldc: ldc, workspace: workspace.pointer,
                               workspaceStride: stride, workspaceBytes: workspaceBytes,
                               activation: activation.map(unaryFunction))
        if plan.parts == 1 {
            job.run(part: 0)
        } else {
            DispatchQueue.concurrentPerform(iterations: plan.parts) { job.run(part: $0) }
        }
    }
}

/// One pre-packed product's arguments, shared by the threads computing its parts (see `GEMMJob`).
private struct PrepackedJob: @unchecked Sendable {
    let kernel: enclava_f32_gemm_kernel
    let plan: GEMMSplit
    let transA: Bool
    let k: Int, alpha: Float
    let a: UnsafePointer<Float>?, lda: Int   // nil only when k == 0 (then never read)
    let packed: UnsafePointer<Float>, packedN: Int
    let beta: Float
    let c: UnsafeMutablePointer<Float>, ldc: Int
    let workspace: UnsafeMutableRawPointer?, workspaceStride: Int, workspaceBytes: Int
    let activation: enclava_f32_unary_fn?

    func run(part: Int) {
        let (rows, columns) = plan.block(part)
        let aStart = transA ? rows.lowerBound : rows.lowerBound * lda
        let block = c + rows.lowerBound * ldc + columns.lowerBound
        kernel.fn_prepacked(transA ? 1 : 0, rows.count, columns.count, k, alpha, a.map { $0 + aStart }, lda, packed,
                            packedN, columns.lowerBound, beta, block, ldc,
                            workspace.map { $0 + part * workspaceStride }, workspaceBytes)
        if let activation {
            for r in 0..<rows.count { activation(columns.count, block + r * ldc, block + r * ldc) }
        }
    }
}
