// swift-tools-version:6.0
//
// Enclava: confidential AI inference inside hardware TEEs.
//
// The folder layout is the trust boundary (DESIGN.md §1):
//   Sources/Shared     linked on both sides, holds no secrets of its own
//   Sources/Trusted    only inside the enclave
//   Sources/Untrusted  the host bridge; never decrypts
//   Sources/Client     the verifying client
//   Sources/Tools      the `enclava` CLI and the `enclava-runtime` process
// Import rules are enforced by each target's dependency list (build with
// `--explicit-target-dependency-import-check error`).
//
// Development aid: `ENCLAVA_ONLY=EnclavaCrypto,EnclavaWire swift test` keeps only the named
// targets, their dependencies and their test targets, so one module can be built and tested
// while another is half-written. Use it with `--manifest-cache local` and a scratch path of its own.

import PackageDescription

let nio: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let protobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let toml: Target.Dependency = .product(name: "TOMLKit", package: "TOMLKit")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

var targets: [Target] = [
    // MARK: C at the edge
    .target(
        name: "COpenSSL",
        path: "CShims/COpenSSL",
        linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
    ),
    .systemLibrary(
        name: "CProtobufC",
        path: "CShims/CProtobufC",
        pkgConfig: "libprotobuf-c",
        providers: [.apt(["libprotobuf-c-dev"])]
    ),
    .target(
        name: "COnnx",
        dependencies: ["CProtobufC"],
        path: "CShims/COnnx",
        linkerSettings: [.linkedLibrary("protobuf-c")]
    ),
    .target(name: "CEnclaveSystem", path: "CShims/CEnclaveSystem"),
    .target(name: "CSecureMemory", path: "CShims/CSecureMemory"),
    .target(name: "CEnclaveEdge", path: "CShims/CEnclaveEdge", exclude: ["enclava_edge.edl"]),
    .target(
        name: "CEnclavaKernels",
        path: "CShims/CEnclavaKernels",
        cSettings: [.unsafeFlags(["-O3"])],
        linkerSettings: [.linkedLibrary("m")]
    ),

    // MARK: Shared
    .target(name: "EnclavaWire", dependencies: [protobuf, nio, nioPosix, logging,
                                            .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Sources/Shared/EnclavaWire", exclude: ["Protos"], swiftSettings: strict),
    .target(name: "EnclavaCrypto", dependencies: ["COpenSSL", "CSecureMemory"],
            path: "Sources/Shared/EnclavaCrypto", swiftSettings: strict),
    .target(name: "EnclavaAttestation", dependencies: ["EnclavaCrypto"],
            path: "Sources/Shared/EnclavaAttestation", swiftSettings: strict),
    .target(name: "EnclavaImage", dependencies: ["EnclavaCrypto", protobuf, toml],
            path: "Sources/Shared/EnclavaImage", exclude: ["Protos"], swiftSettings: strict),
    // The key broker protocol's bounds and the enclave's client of it (no database: the runtime imports it).
    .target(name: "EnclavaKeyBroker", dependencies: ["EnclavaWire", "EnclavaCrypto", "EnclavaAttestation", protobuf],
            path: "Sources/Shared/EnclavaKeyBroker", swiftSettings: strict),

    // MARK: Launch measurement (issue 13): the SEV-SNP launch digest and TDX MRTD computed before a VM boots,
    // from its firmware, kernel, initrd, command line and vCPUs; and the boot bundle that holds them.
    .target(name: "EnclavaMeasure", dependencies: ["EnclavaCrypto"],
            path: "Sources/Shared/EnclavaMeasure", swiftSettings: strict),
    .testTarget(name: "EnclavaMeasureTests", dependencies: ["EnclavaMeasure", "EnclavaCrypto", "EnclavaTesting"],
                path: "Tests/EnclavaMeasureTests"),

    // MARK: Trusted
    .target(name: "EnclaveSealing", dependencies: ["EnclavaCrypto", "EnclavaImage", "CEnclaveSystem"],
            path: "Sources/Trusted/EnclaveSealing", swiftSettings: strict),
    .target(name: "EnclavePlatform", dependencies: ["EnclavaCrypto", "EnclavaAttestation", "EnclaveSealing", "CEnclaveSystem"],
            path: "Sources/Trusted/EnclavePlatform", swiftSettings: strict),
    .target(name: "EnclaveKernels", dependencies: ["CEnclavaKernels"],
            path: "Sources/Trusted/EnclaveKernels", swiftSettings: strict),
    .target(name: "EnclaveInference", dependencies: ["COnnx", "EnclaveKernels", "EnclaveSealing", "EnclavaCrypto"],
            path: "Sources/Trusted/EnclaveInference", swiftSettings: strict),
    .target(name: "EnclaveRuntime",
            dependencies: ["EnclavaWire", "EnclavaCrypto", "EnclavaAttestation", "EnclavaImage",
                           "EnclaveSealing", "EnclavePlatform", "EnclaveInference", "EnclavaKeyBroker", nio, nioPosix, logging,
                           protobuf],
            path: "Sources/Trusted/EnclaveRuntime", swiftSettings: strict),

    // MARK: Untrusted
    .target(name: "HostBridge", dependencies: ["EnclavaWire", nio, nioPosix, logging,
                                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Sources/Untrusted/HostBridge", swiftSettings: strict),
    // The key broker (DESIGN.md §7): the owner's service that releases model keys to attested enclaves (it holds the
    // keys, so it lives under Sources/Owner, apart from the untrusted host code).
    .target(name: "KeyBroker",
            dependencies: ["EnclavaWire", "EnclavaCrypto", "EnclavaAttestation", "EnclavaImage", "EnclavaKeyBroker",
                           grdb, nio, nioPosix, logging, protobuf,
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Sources/Owner/KeyBroker", swiftSettings: strict),

    // MARK: Client
    .target(name: "EnclavaClient",
            dependencies: ["EnclavaWire", "EnclavaCrypto", "EnclavaAttestation", "EnclavaImage", nio, nioPosix, protobuf],
            path: "Sources/Client/EnclavaClient", swiftSettings: strict),

    // MARK: Client proxy (issue 12): an OpenAI-compatible HTTP front on the client's machine over a verified session.
    .target(name: "EnclavaProxy",
            dependencies: ["EnclavaClient", "EnclavaAttestation", "EnclavaWire", hummingbird, nio, nioPosix, logging],
            path: "Sources/Client/EnclavaProxy", swiftSettings: strict),

    // MARK: Tools
    .executableTarget(name: "enclava",
                      dependencies: ["EnclavaWire", "EnclavaCrypto", "EnclavaAttestation", "EnclavaImage",
                                     "HostBridge", "EnclavaClient", "EnclaveInference", "KeyBroker", "EnclavaKeyBroker", "EnclavaMeasure",
                                     "EnclavaProxy",
                                     argumentParser, logging, nio, nioPosix],
                      path: "Sources/Tools/enclava", swiftSettings: strict),
    .executableTarget(name: "enclava-runtime",
                      dependencies: ["EnclaveRuntime", "EnclavePlatform", "EnclavaWire", "CEnclaveSystem", argumentParser, logging],
                      path: "Sources/Tools/enclava-runtime", swiftSettings: strict),
    .executableTarget(name: "enclava-bench", dependencies: ["EnclaveKernels", "EnclaveInference", "EnclavaClient",
                                                            "EnclavaAttestation", "EnclavaWire", "EnclaveRuntime",
                                                            "EnclavaCrypto", "EnclavePlatform", "EnclavaTesting"],
                      path: "Sources/Tools/enclava-bench", exclude: ["peers"], swiftSettings: strict),

    // MARK: Testing kit
    .target(name: "EnclavaTesting",
            dependencies: ["EnclavaWire", "EnclavaCrypto", "EnclavaAttestation", "EnclavaImage"],
            path: "Sources/Testing/EnclavaTesting", swiftSettings: strict),

    // MARK: Tests (mirror Sources/)
    .testTarget(name: "EnclavaWireTests", dependencies: ["EnclavaWire", "EnclavaTesting", nio, nioPosix, protobuf],
                path: "Tests/EnclavaWireTests"),
    .testTarget(name: "EnclavaCryptoTests", dependencies: ["EnclavaCrypto", "EnclavaTesting"],
                path: "Tests/EnclavaCryptoTests", resources: [.copy("Vectors")]),
    .testTarget(name: "EnclavaAttestationTests", dependencies: ["EnclavaAttestation", "EnclavaCrypto"],
                path: "Tests/EnclavaAttestationTests"),
    .testTarget(name: "EnclavaImageTests", dependencies: ["EnclavaImage", "EnclavaCrypto"],
                path: "Tests/EnclavaImageTests"),
    .testTarget(name: "EnclaveSealingTests", dependencies: ["EnclaveSealing", "EnclavaCrypto", "EnclavaTesting", "EnclavaImage"],
                path: "Tests/EnclaveSealingTests"),
    .testTarget(name: "EnclavePlatformTests", dependencies: ["EnclavePlatform", "EnclavaAttestation", "EnclavaCrypto",
                                                            "EnclaveSealing", "EnclavaImage"],
                path: "Tests/EnclavePlatformTests"),
    .testTarget(name: "EnclaveKernelsTests", dependencies: ["EnclaveKernels"],
                path: "Tests/EnclaveKernelsTests"),
    .testTarget(name: "EnclaveInferenceTests", dependencies: ["EnclaveInference", "EnclaveKernels", "EnclavaTesting"],
                path: "Tests/EnclaveInferenceTests", exclude: ["ConformancePassing.txt"]),
    .testTarget(name: "EnclaveRuntimeTests",
                dependencies: ["EnclaveRuntime", "EnclavaWire", "EnclavaCrypto", "EnclavaAttestation", "EnclavaImage",
                               "EnclaveSealing", "EnclavePlatform", "EnclaveInference", "EnclavaClient", "EnclavaTesting",
                               "CEnclaveEdge",
                               nio, nioPosix, logging, protobuf],
                path: "Tests/EnclaveRuntimeTests"),
    .testTarget(name: "HostBridgeTests", dependencies: ["HostBridge", "EnclavaWire", "EnclavaTesting", nio, nioPosix, logging],
                path: "Tests/HostBridgeTests"),
    .testTarget(name: "KeyBrokerTests",
                dependencies: ["KeyBroker", "EnclavaKeyBroker", "EnclavaWire", "EnclavaCrypto", "EnclavaAttestation",
                               "EnclavaImage", "EnclavaTesting", "EnclavePlatform", grdb, nio, nioPosix, protobuf],
                path: "Tests/KeyBrokerTests"),
    .testTarget(name: "EnclavaClientTests",
                dependencies: ["EnclavaClient", "EnclavaWire", "EnclavaCrypto", "EnclavaAttestation", protobuf],
                path: "Tests/EnclavaClientTests"),
    .testTarget(name: "EnclavaProxyTests", dependencies: ["EnclavaProxy", "EnclavaClient", "EnclavaWire"],
                path: "Tests/EnclavaProxyTests"),
    .testTarget(name: "IntegrationTests",
                dependencies: ["EnclavaClient", "EnclavaWire", "EnclavaCrypto", "EnclavaAttestation",
                               "EnclavaImage", "EnclavaTesting", "EnclavaKeyBroker", "EnclavePlatform", nio, nioPosix],
                path: "Tests/Integration"),
]

// MARK: The in-process ocall edge (issue 11)
// The trusted runtime as a shared library exporting CShims/CEnclaveEdge's ABI (libEnclavaEnclave.so): `enclava serve
// --enclave ocall:LIB` loads it into the bridge, which calls it through the edge's host side (enclava_edge_host.c).
targets.append(.target(name: "EnclavaEnclave",
                       dependencies: ["EnclaveRuntime", "EnclavePlatform", "EnclavaWire", "EnclavaImage", "EnclavaAttestation",
                                      "CEnclaveEdge", logging],
                       path: "Sources/Trusted/EnclavaEnclave", swiftSettings: strict))
for target in targets where ["HostBridge", "HostBridgeTests", "IntegrationTests", "enclava-bench"].contains(target.name) {
    target.dependencies.append("CEnclaveEdge")
}
for target in targets where target.name == "HostBridge" { target.dependencies.append(protobuf) }
if Context.environment["ENCLAVA_FUZZ"] == "1" {
    targets.append(.executableTarget(name: "FuzzEnclaveEdge",
                                     dependencies: ["CEnclaveEdge", "EnclaveRuntime", "EnclavaWire", "FuzzSupport"],
                                     path: "Sources/Fuzz/FuzzEnclaveEdge", swiftSettings: strict))
}

// Fuzz targets, one per evidence format and one per other parser, only for `make fuzz` (ENCLAVA_FUZZ=1):
// each is a libFuzzer executable (`LLVMFuzzerTestOneInput` run by libFuzzer's driver), built with `-sanitize=fuzzer` in `.build-fuzz`.
if Context.environment["ENCLAVA_FUZZ"] == "1" {
    targets.append(.target(name: "FuzzSupport", path: "Sources/Fuzz/FuzzSupport", swiftSettings: strict))
    for name in ["FuzzSNPReport", "FuzzTDXQuote", "FuzzSGXQuote", "FuzzNitroDocument", "FuzzQuoteCollateral", "FuzzCCAToken"] {
        targets.append(.executableTarget(name: name, dependencies: ["EnclavaAttestation", "FuzzSupport"],
                                         path: "Sources/Fuzz/\(name)", swiftSettings: strict))
    }
    // The other parsers a hostile peer, host or file reaches, each with only what it parses.
    let parsers: [(String, [Target.Dependency])] = [
        ("FuzzTTRPCFrames", ["EnclavaWire", nio, protobuf]),
        ("FuzzEnclaveMessages", ["EnclavaWire", "EnclaveRuntime", "EnclavaClient", protobuf]),
        ("FuzzImage", ["EnclavaImage", "EnclavaCrypto", protobuf]),
        ("FuzzONNX", ["EnclaveInference", "EnclaveSealing"]),
        ("FuzzTokenizer", ["EnclaveInference"]),
        ("FuzzCLIJSON", ["EnclavaClient", "EnclavaAttestation"]),
        ("FuzzKeyBrokerMessages", ["EnclavaKeyBroker", "EnclavaWire", "EnclavaAttestation", protobuf]),
    ]
    for (name, dependencies) in parsers {
        targets.append(.executableTarget(name: name, dependencies: dependencies + ["FuzzSupport"],
                                         path: "Sources/Fuzz/\(name)", swiftSettings: strict))
    }
}

// The client's C ABI (CShims/CEnclavaClient/include/enclava_client.h): `@_cdecl` functions over opaque handles in
// libEnclavaClientC.so, for other languages (the Python package in Sources/Client/python). It only calls EnclavaClient.
targets += [
    .target(name: "CEnclavaClient", path: "CShims/CEnclavaClient"),
    .target(name: "EnclavaClientC",
            dependencies: ["EnclavaClient", "EnclavaAttestation", "EnclavaCrypto", "EnclavaWire", "CEnclavaClient"],
            path: "Sources/Client/EnclavaClientC", swiftSettings: strict),
]

// Keep only the targets named in ENCLAVA_ONLY (plus their dependencies and test targets).
if let only = Context.environment["ENCLAVA_ONLY"], !only.isEmpty {
    let byName = Dictionary(uniqueKeysWithValues: targets.map { ($0.name, $0) })
    var keep = Set<String>()
    func visit(_ name: String) {
        guard let target = byName[name], keep.insert(name).inserted else { return }
        for dependency in target.dependencies {
            if case .byNameItem(let depName, _) = dependency { visit(depName) }
            if case .targetItem(let depName, _) = dependency { visit(depName) }
        }
    }
    for name in only.split(separator: ",").map(String.init) {
        visit(name)
        visit(name + "Tests")
    }
    targets = targets.filter { keep.contains($0.name) }
}

let keptNames = Set(targets.map(\.name))
var products: [Product] = []
if keptNames.contains("enclava") { products.append(.executable(name: "enclava", targets: ["enclava"])) }
if keptNames.contains("enclava-runtime") {
    products.append(.executable(name: "enclava-runtime", targets: ["enclava-runtime"]))
}
if keptNames.contains("enclava-bench") { products.append(.executable(name: "enclava-bench", targets: ["enclava-bench"])) }
if keptNames.contains("EnclavaClientC") {
    products.append(.library(name: "EnclavaClientC", type: .dynamic, targets: ["EnclavaClientC"]))
}
if keptNames.contains("EnclavaEnclave") { products.append(.library(name: "EnclavaEnclave", type: .dynamic, targets: ["EnclavaEnclave"])) }

let package = Package(
    name: "Enclava",
    platforms: [.macOS(.v14)],
    products: products,
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
