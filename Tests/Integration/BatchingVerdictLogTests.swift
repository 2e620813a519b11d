import EnclavaTesting
import Foundation
import Testing

/// The runtime says at load whether requests of different sessions may share a model run (DESIGN.md §5).
@Suite struct BatchingVerdictLogTests {
    let fixture = CLIFixture.shared

    @Test func theRuntimeLogsTheFraudModelsBatchingVerdictAtLoad() throws {
        let golden = try Golden.load(fixture.root)
        let result = try fixture.run(["run", "--sim", "--image", fixture.image.path, "--log-level", "info",
                                      "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(result.status == 0, "run failed: \(result.stderr)")
        #expect(result.stderr.contains("batching: rows of different sessions may share a run"), "\(result.stderr)")
        #expect(result.stderr.contains("verdict=proven: every output row depends on its own input row alone"), "\(result.stderr)")
    }
}
