import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

@Suite struct IntelSmokeTests {
    @Test(arguments: IntelTestData.samples)
    func smoke(_ sample: IntelTestData.Sample) throws {
        do {
            let r = try IntelTestData.verify(sample)
            print("OK no-collateral \(sample.file) debug=\(r.isDebug)")
        } catch { print("FAIL no-collateral \(sample.file): \(error)") }
        if let c = try IntelTestData.collateral(for: sample) {
            do {
                let r = try IntelTestData.verify(sample, collateral: c)
                print("OK collateral \(sample.file) \(String(describing: r.tcb))")
            } catch { print("FAIL collateral \(sample.file): \(error)") }
        }
    }
}
