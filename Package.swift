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
        .library(name: "WorkerBeeModels", targets: ["WorkerBeeModels"]),
        .library(name: "WorkerBeeDocuments", targets: ["WorkerBeeDocuments"]),
        .library(name: "WorkerBeeServer", targets: ["WorkerBeeServer"]),
        .library(name: "GGUF", targets: ["GGUF"]),
        .library(name: "WorkerBeeWire", targets: ["WorkerBeeWire"]),
        // For an app that is its own worker (WorkerBeeWorker.runIfRequested()); links llama.cpp.
        .library(name: "WorkerBeeEngine", targets: ["WorkerBeeEngine"]),
        .executable(name: "workerbee", targets: ["WorkerBeeCLI"]),
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
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // OTLP/HTTP only: the gRPC exporter would bring grpc-swift into the build for nothing.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLlama",
            pkgConfig: "llama",
            providers: [.brew(["llama.cpp"])]
        ),
        // Little C helpers for process spawning, for reads and writes that go on through signals,
        // and for reading llama.cpp's patch marker.
        .target(name: "CWorkerBeeSystem"),
        // Little-endian readers and writers shared by the file formats and the wire protocol.
        .target(name: "BinaryCoding"),
        // GGUF and safetensors files: read, write, convert a sentence-transformers folder.
        .target(name: "GGUF", dependencies: ["BinaryCoding"]),
        // The host-worker protocol: frames, requests, answers. Nothing else.
        .target(name: "WorkerBeeWire", dependencies: ["BinaryCoding"]),
        // Image headers (PNG, JPEG, PNM) read without decoding, on both sides of the wire.
        .target(name: "WorkerBeeImages"),
        // Where models live: the models folder, the Hugging Face cache, Ollama's store, vision
        // projectors, the record of models that crash workers, the catalog a server lists.
        .target(name: "WorkerBeeModels", dependencies: ["GGUF"]),
        // Fetching models from the Hugging Face Hub into the models folder.
        .target(
            name: "WorkerBeeHub",
            dependencies: [
                "WorkerBeeModels", "GGUF",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Supervised worker processes and pools: the host side, without llama.cpp.
        .target(
            name: "WorkerBee",
            dependencies: [
                "WorkerBeeWire", "WorkerBeeModels", "GGUF", "CWorkerBeeSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // PDF and image pages for OCR: rasterising with Poppler, reading pages through a pool.
        .target(name: "WorkerBeeDocuments", dependencies: ["WorkerBee", "WorkerBeeWire", "WorkerBeeImages"]),
        // `workerbee serve`: OpenAI- and Ollama-compatible HTTP routes over a WorkerPool. Host side:
        // no llama.cpp (token counts and tokenization come from the workers).
        .target(
            name: "WorkerBeeServer",
            dependencies: [
                "WorkerBee", "WorkerBeeWire", "WorkerBeeModels", "WorkerBeeDocuments",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ]
        ),
        // The worker side: llama.cpp and Tesseract behind the wire protocol.
        .target(
            name: "WorkerBeeEngine",
            dependencies: ["CLlama", "CWorkerBeeSystem", "WorkerBeeWire", "WorkerBeeModels", "WorkerBeeImages", "GGUF"],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        // Generated models, images and PDFs, and vector comparison: what `workerbee models tiny-*`,
        // `workerbee bench` and the tests make and measure with.
        .target(name: "WorkerBeeFixtures", dependencies: ["BinaryCoding", "GGUF"]),
        // Test-only helpers (sandboxes for real workers, process probes). Not linked into the product.
        .target(
            name: "WorkerBeeTestSupport",
            dependencies: ["WorkerBeeFixtures", "BinaryCoding", "GGUF", "WorkerBee", "WorkerBeeModels", "WorkerBeeWire"]
        ),
        .executableTarget(
            name: "WorkerBeeCLI",
            dependencies: [
                "WorkerBee", "WorkerBeeEngine", "WorkerBeeModels", "WorkerBeeHub", "WorkerBeeDocuments",
                "WorkerBeeImages", "GGUF", "WorkerBeeFixtures", "WorkerBeeServer", "CWorkerBeeSystem", "BinaryCoding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .testTarget(name: "BinaryCodingTests", dependencies: ["BinaryCoding"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "WorkerBeeModels", "WorkerBeeFixtures", "WorkerBeeTestSupport"]),
        .testTarget(name: "WorkerBeeWireTests", dependencies: ["WorkerBeeWire", "WorkerBeeFixtures", "WorkerBeeTestSupport"]),
        .testTarget(name: "WorkerBeeImagesTests", dependencies: ["WorkerBeeImages", "WorkerBeeFixtures"]),
        .testTarget(
            name: "WorkerBeeEngineTests",
            dependencies: ["WorkerBeeEngine", "WorkerBeeModels", "GGUF", "WorkerBeeFixtures", "WorkerBeeTestSupport"],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .testTarget(
            name: "WorkerBeeTests",
            dependencies: [
                "WorkerBee", "WorkerBeeModels", "WorkerBeeDocuments", "GGUF", "WorkerBeeFixtures", "WorkerBeeTestSupport", "WorkerBeeCLI",
                "CWorkerBeeSystem",
            ],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .testTarget(
            name: "WorkerBeeServerTests",
            dependencies: [
                "WorkerBeeServer", "WorkerBee", "WorkerBeeModels", "WorkerBeeDocuments", "WorkerBeeFixtures", "WorkerBeeTestSupport", "WorkerBeeCLI", "GGUF",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        .testTarget(
            name: "WorkerBeeCLITests",
            dependencies: [
                "WorkerBee", "WorkerBeeModels", "WorkerBeeHub", "WorkerBeeDocuments", "GGUF", "WorkerBeeFixtures", "WorkerBeeTestSupport", "WorkerBeeCLI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: llamaSwiftSettings,
            linkerSettings: llamaLinkerSettings
        ),
        // The shipped deployment files, run for real: haproxy in front of several servers, the
        // Kubernetes manifests against the Kubernetes schemas, the relocatable package.
        .testTarget(
            name: "DeployTests",
            dependencies: [
                "WorkerBee", "WorkerBeeTestSupport", "WorkerBeeFixtures",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ]
)
