import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Generated negatives on the real document: a flipped bit in every region of the signed payload, the
/// protected header and the signature; truncation at every length; a removed, swapped, truncated or foreign
/// certificate. Each is refused with its specific error.
@Suite struct NitroTamperingTests {
    let verifier = EvidenceVerifier()

    /// A byte range of the encoded document and the error codes a change inside it may cause.
    struct Region {
        let name: String
        let range: Range<Int>
        let expected: Set<AttestationError.Code>
    }

    /// Splits a CBOR item at `offset` into head, key and content regions, naming each by its path.
    static func regions(of value: CBORValue, at offset: Int, path: String, into out: inout [Region]) {
        let structure: Set<AttestationError.Code> = [.malformedEvidence]
        let total = value.encoded.count
        switch value {
        case .bytes, .text:
            let contentCount: Int
            switch value {
            case .bytes(let bytes): contentCount = bytes.count
            case .text(let text): contentCount = text.utf8.count
            default: contentCount = 0
            }
            let head = total - contentCount
            out.append(Region(name: path + " (head)", range: offset..<(offset + head), expected: structure))
            if contentCount > 0 {
                out.append(Region(name: path, range: (offset + head)..<(offset + total), expected: contentCodes(path)))
            }
        case .array(let items):
            var head: [UInt8] = []
            CBORValue.head(4, UInt64(items.count), into: &head)
            out.append(Region(name: path + " (head)", range: offset..<(offset + head.count), expected: structure))
            var at = offset + head.count
            for (index, item) in items.enumerated() {
                regions(of: item, at: at, path: "\(path)[\(index)]", into: &out)
                at += item.encoded.count
            }
        case .map(let entries):
            var head: [UInt8] = []
            CBORValue.head(5, UInt64(entries.count), into: &head)
            out.append(Region(name: path + " (head)", range: offset..<(offset + head.count), expected: structure))
            var at = offset + head.count
            for entry in entries {
                let key: String
                switch entry.key {
                case .text(let text): key = "\(path).\(text)"
                case .unsigned(let n): key = "\(path)[\(n)]"
                default: key = "\(path).?"
                }
                let keyCount = entry.key.encoded.count
                // A PCR index changed to another free index 0…31 still parses; only the signature catches it.
                let keyCodes: Set<AttestationError.Code> = path == "payload.pcrs" ? [.malformedEvidence, .signatureInvalid] : structure
                out.append(Region(name: key + " (key)", range: at..<(at + keyCount), expected: keyCodes))
                regions(of: entry.value, at: at + keyCount, path: key, into: &out)
                at += keyCount + entry.value.encoded.count
            }
        default:
            // An integer's first byte holds its major type; the rest (if any) is its value.
            let head = total > 1 ? 1 : 0
            if head > 0 { out.append(Region(name: path + " (head)", range: offset..<(offset + 1), expected: structure)) }
            out.append(Region(name: path, range: (offset + head)..<(offset + total), expected: contentCodes(path)))
        }
    }

    /// What changing the content of a field may cause: certificates fail their chain (or no longer parse),
    /// the root fails its pin, the digest name fails its check, and everything else fails the signature.
    static func contentCodes(_ path: String) -> Set<AttestationError.Code> {
        if path == "payload.cabundle[0]" { return [.untrustedRoot, .malformedEvidence] }
        if path.hasPrefix("payload.cabundle") || path == "payload.certificate" { return [.certificateChainInvalid, .malformedEvidence] }
        if path == "payload.digest" { return [.malformedEvidence] }
        if path == "payload.module_id" { return [.signatureInvalid, .malformedEvidence] }  // or invalid UTF-8
        if path == "signature" { return [.signatureInvalid] }
        if path == "protected" { return [.malformedEvidence] }
        return [.signatureInvalid]
    }

    /// Every region of the whole COSE_Sign1, the payload expanded field by field.
    static func documentRegions(_ document: [UInt8]) throws -> [Region] {
        let cose = try COSESign1(parsing: document)
        let payload = try CBORDecoder.decode(cose.payload, structure: "payload")
        var out: [Region] = []
        let structure: Set<AttestationError.Code> = [.malformedEvidence]
        var at = 0
        out.append(Region(name: "COSE_Sign1 (head)", range: 0..<1, expected: structure))
        at += 1
        regions(of: .bytes(cose.protectedHeader), at: at, path: "protected", into: &out)
        at += CBORValue.bytes(cose.protectedHeader).encoded.count
        out.append(Region(name: "unprotected", range: at..<(at + 1), expected: structure))
        at += 1
        let payloadHead = CBORValue.bytes(cose.payload).encoded.count - cose.payload.count
        out.append(Region(name: "payload (head)", range: at..<(at + payloadHead), expected: structure))
        at += payloadHead
        regions(of: payload, at: at, path: "payload", into: &out)
        at += cose.payload.count
        regions(of: .bytes(cose.signature), at: at, path: "signature", into: &out)
        return out
    }

    /// Up to `limit` positions spread over `range`, always its first and last byte.
    static func positions(in range: Range<Int>, limit: Int = 12) -> [Int] {
        guard range.count > limit else { return Array(range) }
        return (0..<limit).map { range.lowerBound + $0 * (range.count - 1) / (limit - 1) }
    }

    @Test func regionsCoverTheWholeDocumentWithoutGaps() throws {
        let regions = try Self.documentRegions(NitroSamples.normal)
        var next = 0
        for region in regions {
            #expect(region.range.lowerBound == next, "\(region.name)")
            next = region.range.upperBound
        }
        #expect(next == NitroSamples.normal.count)
        #expect(regions.contains { $0.name == "payload.pcrs[15]" })
        #expect(regions.contains { $0.name == "payload.cabundle[3]" })
        #expect(regions.count > 60)
    }

    @Test func aFlippedBitInEveryRegionIsRefusedWithItsError() throws {
        let original = NitroSamples.normal
        var tried = 0
        for region in try Self.documentRegions(original) {
            let every = region.name == "signature" || region.range.count <= 16
            for (n, position) in (every ? Array(region.range) : Self.positions(in: region.range)).enumerated() {
                var tampered = original
                tampered[position] ^= UInt8(1) << UInt8((position + n) % 8)
                let error = nitroError { _ = try verifier.verifyNitro(document: tampered, at: NitroSamples.normalTime) }
                tried += 1
                guard let error else {
                    Issue.record("a flipped bit at \(position) in \(region.name) was accepted")
                    continue
                }
                #expect(region.expected.contains(error.code), "\(region.name) @\(position): \(error)")
            }
        }
        #expect(tried > 500)
    }

    @Test func everyTruncationIsRefusedAsMalformed() throws {
        let original = NitroSamples.normal
        for length in 0..<original.count {
            let error = nitroError { _ = try verifier.verifyNitro(document: Array(original[..<length]), at: NitroSamples.normalTime) }
            #expect(error?.code == .malformedEvidence && error?.field == "COSE_Sign1", "length \(length): \(String(describing: error))")
        }
        // A well-formed COSE_Sign1 around every truncation of the payload.
        let cose = try COSESign1(parsing: original)
        for length in 0..<cose.payload.count {
            let document = NitroSamples.wrap(protected: cose.protectedHeader, payload: Array(cose.payload[..<length]), signature: cose.signature)
            let error = nitroError { _ = try NitroAttestationDocument(parsing: document) }
            #expect(error?.code == .malformedEvidence && error?.field == "attestation document payload", "payload length \(length)")
        }
    }

    @Test func removedOrSwappedBundleCertificatesAreRefused() throws {
        func refusal(_ change: @escaping (inout [CBORValue]) -> Void) throws -> AttestationError? {
            let document = try NitroSamples.rewritten(NitroSamples.normal) { entries in
                var bundle = NitroSamples.cabundle(entries)
                change(&bundle)
                NitroSamples.set(&entries, "cabundle", .array(bundle))
            }
            return nitroError { _ = try verifier.verifyNitro(document: document, at: NitroSamples.normalTime) }
        }
        let removedRegional = try refusal { $0.remove(at: 1) }
        #expect(removedRegional?.code == .certificateChainInvalid && removedRegional?.field == "payload.cabundle[1]")
        let swapped = try refusal { $0.swapAt(1, 2) }
        #expect(swapped?.code == .certificateChainInvalid && swapped?.field == "payload.cabundle[1]")
        let removedInstance = try refusal { $0.removeLast() }
        #expect(removedInstance?.code == .certificateChainInvalid && removedInstance?.field == "payload.certificate")
        let removedRoot = try refusal { $0.removeFirst() }
        #expect(removedRoot?.code == .untrustedRoot)
        let reversed = try refusal { $0.reverse() }
        #expect(reversed?.code == .untrustedRoot)
        let empty = try refusal { $0.removeAll() }
        #expect(empty?.code == .malformedEvidence && empty?.field == "payload.cabundle")
        let duplicated = try refusal { $0.insert($0[1], at: 2) }
        #expect(duplicated?.code == .certificateChainInvalid)
        for index in 0..<4 {
            let truncated = try refusal { bundle in
                if case .bytes(let der) = bundle[index] { bundle[index] = .bytes(Array(der.dropLast(7))) }
            }
            #expect(truncated?.code == .malformedEvidence && truncated?.field == "payload.cabundle[\(index)]")
        }
    }

    @Test func aTruncatedOrForeignLeafIsRefused() throws {
        let truncated = try NitroSamples.rewritten(NitroSamples.normal) { entries in
            if case .bytes(let der) = NitroSamples.value(entries, "certificate") {
                NitroSamples.set(&entries, "certificate", .bytes(Array(der.dropLast(1))))
            }
        }
        let error = nitroError { _ = try verifier.verifyNitro(document: truncated, at: NitroSamples.normalTime) }
        #expect(error?.code == .malformedEvidence && error?.field == "payload.certificate")

        // The debug sample's leaf (same instance, same chain, valid at the debug time) did not sign this payload.
        let debugLeaf = try NitroAttestationDocument(parsing: NitroSamples.debug).certificate
        let foreign = try NitroSamples.rewritten(NitroSamples.normal) { NitroSamples.set(&$0, "certificate", .bytes(debugLeaf)) }
        let foreignError = nitroError { _ = try verifier.verifyNitro(document: foreign, at: NitroSamples.debugTime) }
        #expect(foreignError?.code == .signatureInvalid)
        // The debug sample's payload under the normal sample's signature.
        let debugCOSE = try COSESign1(parsing: NitroSamples.debug)
        let normalCOSE = try COSESign1(parsing: NitroSamples.normal)
        let mixed = NitroSamples.wrap(protected: normalCOSE.protectedHeader, payload: debugCOSE.payload, signature: normalCOSE.signature)
        #expect(nitroError { _ = try verifier.verifyNitro(document: mixed, at: NitroSamples.debugTime) }?.code == .signatureInvalid)
    }

    /// Changes the parser's field rules must catch even though they are signed.
    @Test func fieldRulesAreEnforced() throws {
        func refusal(_ change: @escaping (inout [CBORValue.Entry]) -> Void) throws -> AttestationError? {
            let document = try NitroSamples.rewritten(NitroSamples.normal, change)
            return nitroError { _ = try NitroAttestationDocument(parsing: document) }
        }
        #expect(try refusal { NitroSamples.set(&$0, "digest", .text("SHA256")) }?.field == "payload.digest")
        #expect(try refusal { NitroSamples.set(&$0, "module_id", .text("")) }?.field == "payload.module_id")
        #expect(try refusal { NitroSamples.set(&$0, "timestamp", .unsigned(0)) }?.field == "payload.timestamp")
        #expect(try refusal { NitroSamples.set(&$0, "timestamp", .negative(5)) }?.field == "payload.timestamp")
        #expect(try refusal { NitroSamples.set(&$0, "pcrs", .map([])) }?.field == "payload.pcrs")
        #expect(try refusal { NitroSamples.set(&$0, "pcrs", .map([.init(key: .unsigned(32), value: .bytes([UInt8](repeating: 0, count: 48)))])) }?.field == "payload.pcrs")
        #expect(try refusal { NitroSamples.set(&$0, "pcrs", .map([.init(key: .unsigned(1), value: .bytes([UInt8](repeating: 0, count: 48)))])) }?.field == "payload.pcrs[0]")
        #expect(try refusal { NitroSamples.set(&$0, "pcrs", .map([.init(key: .unsigned(0), value: .bytes([UInt8](repeating: 0, count: 32)))])) }?.field == "payload.pcrs[0]")
        #expect(try refusal { NitroSamples.set(&$0, "user_data", .bytes([UInt8](repeating: 1, count: 1025))) }?.field == "payload.user_data")
        #expect(try refusal { NitroSamples.set(&$0, "public_key", .bytes([])) }?.field == "payload.public_key")
        #expect(try refusal { NitroSamples.set(&$0, "nonce", .text("n")) }?.field == "payload.nonce")
        #expect(try refusal { NitroSamples.set(&$0, "extra", .null) }?.field == "payload")
        #expect(try refusal { $0.removeAll { $0.key == .text("certificate") } }?.field == "payload.certificate")
        #expect(try refusal { $0.removeAll { $0.key == .text("cabundle") } }?.field == "payload.cabundle")
        #expect(try refusal { NitroSamples.set(&$0, "cabundle", .array([.text("x")])) }?.field == "payload.cabundle[0]")
        // Optional fields may be null or absent.
        let document = try NitroSamples.rewritten(NitroSamples.normal) { entries in
            NitroSamples.set(&entries, "nonce", .null)
            entries.removeAll { $0.key == .text("public_key") }
        }
        let parsed = try NitroAttestationDocument(parsing: document)
        #expect(parsed.nonce == nil && parsed.publicKey == nil && parsed.userData?.count == 1024)
    }

    @Test func protectedAndUnprotectedHeadersAreStrict() throws {
        let cose = try COSESign1(parsing: NitroSamples.normal)
        func refusal(protected: [UInt8], unprotected: CBORValue = .map([]), signature: [UInt8]? = nil) -> AttestationError? {
            let document = CBORValue.array([.bytes(protected), unprotected, .bytes(cose.payload), .bytes(signature ?? cose.signature)]).encoded
            return nitroError { _ = try COSESign1(parsing: document) }
        }
        let es256 = CBORValue.map([.init(key: .unsigned(1), value: .negative(6))]).encoded
        #expect(refusal(protected: es256)?.field == "COSE_Sign1.protected.alg")
        let withCrit = CBORValue.map([.init(key: .unsigned(1), value: .negative(34)), .init(key: .unsigned(2), value: .array([]))]).encoded
        #expect(refusal(protected: withCrit)?.field == "COSE_Sign1.protected")
        #expect(refusal(protected: [])?.field == "COSE protected header")
        #expect(refusal(protected: cose.protectedHeader, unprotected: .map([.init(key: .unsigned(4), value: .bytes([1]))]))?.field == "COSE_Sign1.unprotected")
        #expect(refusal(protected: cose.protectedHeader, signature: Array(cose.signature.dropLast()))?.field == "COSE_Sign1.signature")
        let fiveItems = CBORValue.array([.bytes(cose.protectedHeader), .map([]), .bytes(cose.payload), .bytes(cose.signature), .null]).encoded
        #expect(nitroError { _ = try COSESign1(parsing: fiveItems) }?.field == "COSE_Sign1")
    }
}
