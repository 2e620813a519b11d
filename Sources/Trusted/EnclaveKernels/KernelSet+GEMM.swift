internal import CEnclavaKernels
import Dispatch

/// SGEMM through the table's packed, cache-blocked variant, on one thread or split across several.
extension KernelSet {
    /// The GEMM variant in use, e.g. `"enclava_f32_gemm__avx2_6x16"`.
    public var gemmVariant: String { String(cString: table.pointee.f32_gemm.name) }

    /// The GEMM micro-tile, rows × columns (1 × 1 for the reference); threads split C on its boundaries.
    public var gemmTile: (rows: Int, columns: Int) {
        (table.pointee.f32_gemm.mr, table.pointee.f32_gemm.nr)
    }

    /// For tests: one product on the calling thread through the variant's C entry points, with a workspace
    /// of exactly `workspaceBytes` (which may be too small, to exercise the fallbacks), or, when nil, through
    /// the workspace-less `enclava_f32_gemm_fn` entry (stack packing). Extents are checked as in `gemm`.
    func gemmEntryPoint(workspaceBytes: Int?, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                        a: UnsafeBufferPointer<Float>, lda: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                        beta: Float, c: UnsafeMutableBufferPointer<Float>, ldc: Int) {
        let needA = transA ? Self.matrixSpan(rows: k, columns: m, leading: lda) : Self.matrixSpan(rows: m, columns: k, leading: lda)
        let needB = transB ? Self.matrixSpan(rows: n, columns: k, leading: ldb) : Self.matrixSpan(rows: k, columns: n, leading: ldb)
        precondition(a.count >= needA && b.count >= needB && c.count >= Self.matrixSpan(rows: m, columns: n, leading: ldc))
        guard m > 0, n > 0 else { return }
        let kernel = table.pointee.f32_gemm
        guard let bytes = workspaceBytes else {
            kernel.fn(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.baseAddress, lda, b.baseAddress, ldb,
                      beta, c.baseAddress, ldc)
            return
        }
        let workspace = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 1)
        defer { workspace.deallocate() }
        kernel.fn_ws(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.baseAddress, lda, b.baseAddress, ldb,
                     beta, c.baseAddress, ldc, workspace, bytes)
    }

    /// Workspace bytes the variant wants for an m × n × k product (0 for the reference).
    func gemmWorkspaceBytes(m: Int, n: Int, k: Int) -> Int { table.pointee.f32_gemm.workspace_bytes(m, n, k) }

    /// `C[m×n] = alpha · op(A) · op(B) + beta · C`, row-major. When `beta` is 0, C is not read.
    ///
    /// Safe to call from many threads at once on disjoint `c`: each call packs into a workspace of its own.
    /// With `threads > 1`, C is cut into that many blocks of whole micro-tiles (along n when n ≥ m, else
    /// along m), run with `DispatchQueue.concurrentPerform`; small products stay on the calling thread.
    /// - Parameters:
    ///   - transA: when true, `a` holds a k×m matrix (row stride `lda`) and op(A) is its transpose.
    ///   - transB: when true, `b` holds an n×k matrix (row stride `ldb`) and op(B) is its transpose.
    ///   - threads: the most threads to use (1…64, e.g. the manifest's `[runtime] threads`).
    ///
    /// The packing workspace is allocated per call and zeroed before it is freed.
    public func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafeBufferPointer<Float>, lda: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutableBufferPointer<Float>, ldc: Int, threads: Int = 1) {
        let needA = transA ? Self.matrixSpan(rows: k, columns: m, leading: lda) : Self.matrixSpan(rows: m, columns: k, leading: lda)
        let needB = transB ? Self.matrixSpan(rows: n, columns: k, leading: ldb) : Self.matrixSpan(rows: k, columns: n, leading: ldb)
        let needC = Self.matrixSpan(rows: m, columns: n, leading: ldc)
        precondition(a.count >= needA, "gemm: A holds \(a.count) floats, needs \(needA)")
        precondition(b.count >= needB, "gemm: B holds \(b.count) floats, needs \(needB)")
        precondition(c.count >= needC, "gemm: C holds \(c.count) floats, needs \(needC)")
        precondition((1...64).contains(threads), "gemm: threads must be 1…64, got \(threads)")
        guard m > 0, n > 0 else { return }
        let kernel = table.pointee.f32_gemm
        let plan = GEMMSplit(m: m, n: n, k: k, threads: threads, mr: kernel.mr, nr: kernel.nr)
        let (firstRows, firstColumns) = plan.block(0)
        let workspaceBytes = kernel.workspace_bytes(firstRows.count, firstColumns.count, k)  // the largest part
        let stride = (workspaceBytes + 63) & ~63
        let workspace = GEMMWorkspace(bytes: stride * plan.parts)
        defer { workspace.release() }
        let job = GEMMJob(kernel: kernel, plan: plan, transA: transA, transB: transB, k: k, alpha: alpha,
                          a: a.baseAddress, lda: lda, b: b.baseAddress, ldb: ldb, beta: beta, c: c.baseAddress!,
                          ldc: ldc, workspace: workspace.pointer, workspaceStride: stride, workspaceBytes: workspaceBytes)
        if plan.parts == 1 {
            job.run(part: 0)
        } else {
            DispatchQueue.concurrentPerform(iterations: plan.parts) { job.run(part: $0) }
        }
    }
}

/// One product's arguments, shared by the threads that compute its parts.
///
/// `@unchecked Sendable`: the pointers are only read (A, B) or written in disjoint blocks (each part owns
/// its own rows or columns of C and its own slice of the workspace), and the caller's buffers outlive the
/// call because `concurrentPerform` returns only when every part is done.
private struct GEMMJob: @unchecked Sendable {
    let kernel: enclava_f32_gemm_kernel
    let plan: GEMMSplit
    let transA: Bool, transB: Bool
    let k: Int, alpha: Float
    let a: UnsafePointer<Float>?, lda: Int   // nil only when k == 0 (then never read)
    let b: UnsafePointer<Float>?, ldb: Int
    let beta: Float
    let c: UnsafeMutablePointer<Float>, ldc: Int
    let workspace: UnsafeMutableRawPointer?, workspaceStride: Int, workspaceBytes: Int

    /// Computes part `part`'s block of C: its rows of op(A) (split along m) or columns of op(B) (along n).
    func run(part: Int) {
        let (rows, columns) = plan.block(part)
        let aStart = plan.alongN ? 0 : (transA ? rows.lowerBound : rows.lowerBound * lda)
        let bStart = plan.alongN ? (transB ? columns.lowerBound * ldb : columns.lowerBound) : 0
        kernel.fn_ws(transA ? 1 : 0, transB ? 1 : 0, rows.count, columns.count, k, alpha, a.map { $0 + aStart }, lda,
                     b.map { $0 + bStart }, ldb, beta, c + rows.lowerBound * ldc + columns.lowerBound, ldc,
                     workspace.map { $0 + part * workspaceStride }, workspaceBytes)
    }
}
