// swift-tools-version: 6.1
// Two small programs that use WorkerBee from another package (by path here; by URL in yours):
//   embed-two-texts  the host library only; the worker is the `workerbee` executable
//   own-worker       links the engine and is its own worker (no `workerbee` needed)
// The test suite builds and runs both (WorkerBeeCLITests/ExamplesTests), so they cannot rot.
import PackageDescription

let package = Package(
    name: "EmbedTexts",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "WorkerBee", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "embed-two-texts",
            dependencies: [.product(name: "WorkerBee", package: "WorkerBee")]
        ),
        .executableTarget(
            name: "own-worker",
            dependencies: [
                .product(name: "WorkerBee", package: "WorkerBee"),
                .product(name: "WorkerBeeEngine", package: "WorkerBee"),
            ]
        ),
    ]
)
