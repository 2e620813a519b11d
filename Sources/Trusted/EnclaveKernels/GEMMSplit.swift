/// How one product is cut across threads: whole micro-tiles per part, the first parts the largest.
struct GEMMSplit: Sendable {
    /// Products smaller than this many multiply-adds run on one thread (thread hand-off costs more).
    static let minimumWorkPerThread = 1 << 18
    let m: Int, n: Int
    let alongN: Bool
    let parts: Int
    let tilesPerPart: Int, extraTiles: Int, tile: Int

    init(m: Int, n: Int, k: Int, threads: Int, mr: Int, nr: Int) {
        self.m = m
        self.n = n
        alongN = n >= m
        tile = alongN ? nr : mr
        let extent = alongN ? n : m
        let tiles = (extent + tile - 1) / tile
        let work = m.multipliedReportingOverflow(by: n).partialValue.multipliedReportingOverflow(by: max(k, 1))
        let byWork = work.overflow ? threads : max(1, work.partialValue / Self.minimumWorkPerThread)
        parts = max(1, min(threads, tiles, byWork))
        tilesPerPart = tiles / parts
        extraTiles = tiles % parts
    }

    /// Rows and columns of C that part `index` computes.
    func block(_ index: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let firstTile = index * tilesPerPart + min(index, extraTiles)
        let tileCount = tilesPerPart + (index < extraTiles ? 1 : 0)
        let extent = alongN ? n : m
        let range = min(firstTile * tile, extent)..<min((firstTile + tileCount) * tile, extent)
        return alongN ? (0..<m, range) : (range, 0..<n)
    }
}
