import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import WorkerBee
import WorkerBeeTestSupport

extension Deployment {
    /// `scripts/package` run for real: its tarball, unpacked into an empty folder, runs with nothing
    /// of the build machine (no `LD_LIBRARY_PATH`, no Swift, a fresh `HOME` and `WORKERBEE_HOME`
    /// holding only the default model), embeds from the command line and over HTTP, and loads only
    /// its own libraries and Debian's.
    @Suite(.serialized, .timeLimit(.minutes(10))) struct PackageTests {
        /// Where the package and its unpacked copy go; emptied when the suite starts.
        static let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-package-tests")

        /// `scripts/package --output <workspace>/dist --binary <the build under test>`, run once for
        /// the whole suite: the same packaging as a release's, of the build the tests run.
        static let made = Task { () async throws -> ExternalProgram.Output in
            try? FileManager.default.removeItem(at: workspace)
            try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
            return try await ExternalProgram.run(
                repositoryRoot.appendingPathComponent("scripts/package"),
                arguments: ["--output", workspace.appendingPathComponent("dist").path, "--binary", try workerbeeExecutable.path],
                timeout: Duration.seconds(10 * 60))
        }

        /// The model copied into each fresh home: the developer's default model.
        static var defaultModel: URL {
            let home = ProcessInfo.processInfo.environment["WORKERBEE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.workerbee"
            return URL(fileURLWithPath: home).appendingPathComponent("models/all-minilm-l6-v2.gguf")
        }

        @Test func tarballHoldsTheBinaryItsLibrariesAndThePackageListOnly() async throws {
            let (tarball, _) = try await Self.unpackedPackage()
            var architecture = utsname()
            uname(&architecture)
            let machine = withUnsafeBytes(of: &architecture.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            #expect(tarball.lastPathComponent.hasPrefix("workerbee-") && tarball.lastPathComponent.hasSuffix("-linux-\(machine).tar.gz"))
            let entries = try await Self.run("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "tar", "-tzf", tarball.path]).split(separator: "\n").map(String.init)
            let allowed: Set<String> = ["./", "./bin/", "./bin/workerbee", "./lib/", "./DEBIAN-PACKAGES", "./BUILD-CPU-FLAGS"]
            let unexpected = entries.filter { !allowed.contains($0) && !($0.hasPrefix("./lib/lib") && $0.contains(".so")) }
            #expect(unexpected.isEmpty, "the tarball holds \(unexpected)")
            #expect(entries.contains { $0.hasPrefix("./lib/libllama.so") } && entries.contains { $0.hasPrefix("./lib/libggml") }, "\(entries)")
        }

        @Test func packagedBinaryLoadsOnlyItsOwnLibrariesAndSystemOnes() async throws {
            let (_, prefix) = try await Self.unpackedPackage()
            let binary = prefix.appendingPathComponent("bin/workerbee").path
            let ldd = try await Self.run("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "ldd", binary])
            let forbidden = [repositoryRoot.path, Self.defaultModel.deletingLastPathComponent().deletingLastPathComponent().path, "/opt/swift", "/usr/lib/swift", "not found"]
            var resolved: [String: String] = [:]
            for line in ldd.split(separator: "\n") {
                #expect(!forbidden.contains { line.contains($0) }, "ldd: \(line)")
                let fields = line.split(whereSeparator: \.isWhitespace)
                guard fields.count >= 3, fields[1] == "=>" else { continue }
                // ld.so reports a library found through $ORIGIN as <prefix>/bin/../lib/NAME.
                let path = URL(fileURLWithPath: String(fields[2])).standardizedFileURL.path
                resolved[String(fields[0])] = path
                let own = path.hasPrefix(prefix.appendingPathComponent("lib").path + "/")
                #expect(own || path.hasPrefix("/lib/") || path.hasPrefix("/usr/lib/"), "ldd: \(line)")
                let llama = ["libllama", "libggml", "libmtmd"].contains { fields[0].hasPrefix($0) }
                #expect(!llama || own, "llama.cpp comes from the package: \(line)")
            }
            #expect(resolved["libllama.so.0"] == prefix.appendingPathComponent("lib/libllama.so.0").path, "libllama comes from the package: \(ldd)")
            #expect(ldd.contains("libc.so.6"), "\(ldd)")
            #expect(resolved["libswiftCore.so"] == prefix.appendingPathComponent("lib/libswiftCore.so").path, "the Swift runtime comes from the package: \(ldd)")

            let libraries = try FileManager.default.contentsOfDirectory(atPath: prefix.appendingPathComponent("lib").path)
            for file in [binary] + libraries.map({ prefix.appendingPathComponent("lib/\($0)").path }) {
                let dynamic = try await Self.run("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "readelf", "-d", file])
                let paths = dynamic.split(separator: "\n").filter { $0.contains("(RUNPATH)") || $0.contains("(RPATH)") }
                    .flatMap { $0.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }.split(separator: ":") }
                #expect(file != binary || paths == ["$ORIGIN/../lib"], "\(file) RUNPATH: \(paths)")
                #expect(paths.allSatisfy { $0.hasPrefix("$ORIGIN") }, "\(file) RUNPATH: \(paths)")
            }
            let packages = try String(contentsOf: prefix.appendingPathComponent("DEBIAN-PACKAGES"), encoding: .utf8)
                .split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
            #expect(packages.contains("libc6") && packages.contains("libstdc++6"), "DEBIAN-PACKAGES: \(packages)")
        }

        @Test func packagedBinaryEmbedsInAFreshHomeWithoutLibraryPath() async throws {
            let (_, prefix) = try await Self.unpackedPackage()
            try await Self.withFreshHome { home in
                let vector = try await Self.embedFromCommandLine("hello", prefix: prefix, home: home)
                #expect(vector.count == 384)
                let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                #expect(abs(norm - 1) < 1e-3, "norm \(norm)")
            }
        }

        @Test func packagedServerAnswersTheCommandLinesVectorAndExitsZeroOnSIGTERM() async throws {
            let (_, prefix) = try await Self.unpackedPackage()
            try await Self.withFreshHome { home in
                let expected = try await Self.embedFromCommandLine("hello", prefix: prefix, home: home)
                let port = try freeLoopbackPort()
                let notify = try NotifySocket(path: home.appendingPathComponent("notify").path)
                let (pids, announce) = AsyncStream<Int32>.makeStream()
                let server = Task {
                    defer { announce.finish() }
                    return try await Self.runClean(
                        prefix.appendingPathComponent("bin/workerbee"), ["serve", "--port", "\(port)", "--workers", "1", "--threads", "1"], home: home,
                        extra: ["NOTIFY_SOCKET": notify.path], onStart: { announce.yield($0) })
                }
                var started = pids.makeAsyncIterator()
                guard let pid = await started.next() else {
                    Issue.record("workerbee serve did not start: \(await server.result)")
                    return
                }
                let client = HTTPClient(eventLoopGroupProvider: .singleton)
                try await withCleanup({
                    server.cancel()
                    _ = await server.result
                    try? await client.shutdown()
                }) {
                    // READY=1 or the server's end, whichever comes first (a server that dies never says it).
                    let (events, post) = AsyncStream<String>.makeStream()
                    Task { post.yield(await notify.next() ?? "nothing") }
                    Task { post.yield("the end of the server: \(await server.result)") }
                    var firstEvent = events.makeAsyncIterator()
                    let ready = await firstEvent.next()
                    try #require(ready == "READY=1", "workerbee serve did not say READY=1: \(ready ?? "")")

                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/embeddings")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["input": ["hello"]])))
                    let response = try await client.execute(request, timeout: .seconds(120))
                    let body = Data((try await response.body.collect(upTo: 16 << 20)).readableBytesView)
                    try #require(response.status == .ok, "\(response.status): \(String(decoding: body, as: UTF8.self))")
                    let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
                    let data = try #require(json?["data"] as? [[String: Any]])
                    let served = try #require(data.first?["embedding"] as? [NSNumber]).map(\.floatValue)
                    #expect(Self.cosine(served, expected) >= 0.99999, "cosine \(Self.cosine(served, expected))")

                    kill(pid, SIGTERM)
                    let output = try await server.value
                    #expect(output.status == .exited(0), "workerbee serve after SIGTERM: \(output.status) \(String(decoding: output.stderr, as: UTF8.self).suffix(2000))")
                }
            }
        }

        /// The package made by ``made``, unpacked into `<workspace>/prefix` on first use.
        /// - Returns: the tarball and the folder it was unpacked into.
        static func unpackedPackage() async throws -> (tarball: URL, prefix: URL) {
            let output = try await made.value
            try #require(output.succeeded, "scripts/package failed (\(output.status)): \(String(decoding: output.stderr, as: UTF8.self).suffix(4000))")
            let path = try #require(String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").last.map(String.init))
            let tarball = URL(fileURLWithPath: path), prefix = workspace.appendingPathComponent("prefix")
            if !FileManager.default.fileExists(atPath: prefix.appendingPathComponent("bin/workerbee").path) {
                try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
                _ = try await run("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "tar", "-xzf", tarball.path, "-C", prefix.path])
            }
            return (tarball, prefix)
        }

        /// Runs `body` with an empty temporary folder as `HOME`, whose WorkerBee home holds only a
        /// copy of the default model; the folder is deleted afterwards.
        static func withFreshHome(_ body: (URL) async throws -> Void) async throws {
            let model = defaultModel
            try #require(FileManager.default.fileExists(atPath: model.path), "no default model at \(model.path): run scripts/bootstrap")
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-package-home-\(UUID().uuidString.prefix(8))")
            let models = home.appendingPathComponent(".workerbee/models")
            try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: home) }
            try FileManager.default.copyItem(at: model, to: models.appendingPathComponent(model.lastPathComponent))
            try await body(home)
        }

        /// `<prefix>/bin/workerbee embed TEXT` in a fresh environment: the text's vector.
        static func embedFromCommandLine(_ text: String, prefix: URL, home: URL) async throws -> [Float] {
            let output = try await runClean(prefix.appendingPathComponent("bin/workerbee"), ["embed", text], home: home)
            let stderr = String(decoding: output.stderr, as: UTF8.self)
            try #require(output.succeeded, "workerbee embed: \(output.status) \(stderr)")
            let line = try #require(String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").first, "no output; stderr: \(stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try #require(object?["embedding"] as? [NSNumber], "\(line)").map(\.floatValue)
        }

        /// Runs `program` with none of this process's environment: `PATH` of the system folders,
        /// `HOME` = `home`, `WORKERBEE_HOME` = `home/.workerbee`, and `extra`.
        static func runClean(
            _ program: URL, _ arguments: [String], home: URL, extra: [String: String] = [:], onStart: (@Sendable (Int32) -> Void)? = nil
        ) async throws -> ExternalProgram.Output {
            let variables = ["PATH=/usr/bin:/bin", "HOME=\(home.path)", "WORKERBEE_HOME=\(home.appendingPathComponent(".workerbee").path)"]
                + extra.map { "\($0.key)=\($0.value)" }
            return try await ExternalProgram.run(
                URL(fileURLWithPath: "/usr/bin/env"), arguments: ["-i"] + variables + [program.path] + arguments, timeout: Duration.seconds(600), onStart: onStart)
        }

        /// Runs a helper program to completion and returns its standard output.
        /// - Throws: an `#require` failure with its standard error when it exits non-zero.
        static func run(_ program: String, _ arguments: [String]) async throws -> String {
            let output = try await ExternalProgram.run(URL(fileURLWithPath: program), arguments: arguments, timeout: Duration.seconds(120))
            try #require(output.succeeded, "\(arguments.joined(separator: " ")): \(output.status) \(String(decoding: output.stderr, as: UTF8.self))")
            return String(decoding: output.stdout, as: UTF8.self)
        }

        /// The cosine similarity of two vectors (0 when their lengths differ).
        static func cosine(_ a: [Float], _ b: [Float]) -> Double {
            guard a.count == b.count, !a.isEmpty else { return 0 }
            var dot = 0.0, na = 0.0, nb = 0.0
            for (x, y) in zip(a, b) {
                dot += Double(x) * Double(y)
                na += Double(x) * Double(x)
                nb += Double(y) * Double(y)
            }
            return dot / (na.squareRoot() * nb.squareRoot())
        }
    }
}
