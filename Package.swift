// swift-tools-version: 6.1
import Foundation
import PackageDescription

// llama.cpp is found in one of two ways:
//  1. pkg-config `llama` (a system or Homebrew install), through the CLlama system library target;
//  2. the copy that `scripts/bootstrap` builds under $WORKERBEE_HOME/llama (default ~/.workerbee/llama).
// For (2) the include and library paths are added here, together with an rpath, because SwiftPM
// drops `-rpath` from a .pc file's Libs. Only the targets that link llama.cpp get these flags: the
// host library (WorkerBee), the wire protocol and the GGUF toolkit build without llama.cpp.
let environment = ProcessInfo.processInfo.environment
let workerBeeHome = environment["WORKERBEE_HOME"] ?? (NSHomeDirectory() + "/.workerbee")
let bundledLlama = workerBeeHome + "/llama"
let hasBundledLlama = FileManager.default.fileExists(atPath: bundledLlama + "/include/llama.h")

let llamaSwiftSettings: [SwiftSetting] =
    hasBundledLlama ? [.unsafeFlags(["-Xcc", "-I" + bundledLlama + "/include"])] : []
let llamaLinkerSettings: [LinkerSetting] =
    hasBundledLlama
    ? [.unsafeFlags(["-L" + bundledLlama + "/lib", "-Xlinker", "-rpath", "-Xlinker", bundledLlama + "/lib"])]
    : []

let package = Package(
    name: "WorkerBee",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "WorkerBee", targets: ["WorkerBee"]),
        .library(name: "GGUF", targets: ["GGUF"]),
        .library(name: "WorkerBeeWire", targets: ["WorkerBeeWire"]),
        .library(name: "WorkerBeeServer", targets: ["WorkerBeeServer"]),
        // For an app that is its own worker (WorkerBeeWorker.runIfRequested()); links llama.cpp.
        .library(name: "WorkerBeeEngine", targets: ["WorkerBeeEngine"]),
        .executable(name: "workerbee", targets: ["workerbee"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLlama",
            pkgConfig: "llama",
            providers: [.brew(["llama.cpp"])]
        ),
        .target(name: "CWorkerBeeSystem"),
        .target(name: "BinaryCoding"),
        .target(name: "GGUF", dependencies: ["BinaryCoding"]),
        .target(name: "WorkerBeeWire", dependencies: ["BinaryCoding"]),
        .target(
            name: "WorkerBee",
            dependencies: [
                "WorkerBeeWire", "GGUF", "CWorkerBeeSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `workerbee serve`: OpenAI- and Ollama-compatible HTTP routes over a WorkerPool. Host side:
        // no llama.cpp (token counts and tokenization come from the workers).
        .target(
            name: "WorkerBeeServer",
            dependencies: [
                "WorkerBee", "WorkerBeeWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // What tests, benchmarks and `workerbee models tiny-vision` need: generated models and
        // images, vector comparison, a sandbox for real workers. Not a product: not public API.
        .target(name: "WorkerBeeTestSupport", dependencies: ["BinaryCoding", "GGUF", "WorkerBee"]),
        .target(
            name: "WorkerBeeEngine",
            dependencies: ["CLlama", "CWorkerBeeSystem", "WorkerBeeWire", "GGUF"],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .executableTarget(
            name: "workerbee",
            dependencies: [
                "WorkerBee", "WorkerBeeEngine", "GGUF", "WorkerBeeTestSupport", "WorkerBeeServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .testTarget(name: "BinaryCodingTests", dependencies: ["BinaryCoding"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "WorkerBeeTestSupport"]),
        .testTarget(name: "WorkerBeeWireTests", dependencies: ["WorkerBeeWire", "WorkerBeeTestSupport"]),
        .testTarget(
            name: "WorkerBeeEngineTests",
            dependencies: ["WorkerBeeEngine", "GGUF", "WorkerBeeTestSupport"],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .testTarget(
            name: "WorkerBeeTests",
            dependencies: ["WorkerBee", "GGUF", "WorkerBeeTestSupport", "workerbee"],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .testTarget(
            name: "WorkerBeeServerTests",
            dependencies: [
                "WorkerBeeServer", "WorkerBee", "WorkerBeeTestSupport", "workerbee",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .testTarget(
            name: "workerbeeTests",
            dependencies: [
                "WorkerBee", "GGUF", "WorkerBeeTestSupport", "workerbee",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
    ]
)
