import Foundation
import Testing
import WorkerBee
import WorkerBeeTestSupport

extension Deployment {
    /// The Kubernetes manifests in deploy/kubernetes, checked without a cluster (none is reachable
    /// here): every manifest against the Kubernetes API schemas with kubernetes-validate (offline,
    /// `--strict`, so a misspelt or mistyped field fails), and the settings that must agree with the
    /// server (probe paths, the drain inside the grace period, workers x threads = the CPU limit, the
    /// autoscaler's metric) against what the server does. kubernetes-validate and its Python (with
    /// PyYAML, which also turns the YAML into JSON here) live in `$WORKERBEE_HOME/test-tools`, where
    /// `scripts/install-test-tools` puts them; without them these tests fail, they do not skip.
    @Suite(.timeLimit(.minutes(10))) struct KubernetesManifestsTests {
        /// The Kubernetes release whose schemas the manifests must pass (kubernetes-validate bundles it).
        static let kubernetesVersion = "1.33.0"
        /// The package root: this file is in Tests/DeployTests.
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        static let folder = root.appendingPathComponent("deploy/kubernetes")
        /// Not validated: kubernetes-validate has no schema for kustomize's Kustomization, and a kind
        /// it does not know is only a warning with exit status 0, so "passing" would check nothing.
        static let unvalidated: Set<String> = ["kustomization.yaml"]

        /// `$WORKERBEE_HOME/test-tools/bin/NAME` (home default `~/.workerbee`), or a failure saying how to install it.
        static func venvTool(_ name: String) throws -> URL {
            let home = ProcessInfo.processInfo.environment["WORKERBEE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
                ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".workerbee")
            let tool = home.appendingPathComponent("test-tools/bin/\(name)")
            return try #require(FileManager.default.isExecutableFile(atPath: tool.path) ? tool : nil, """
                \(tool.path) is missing, so the Kubernetes manifests cannot be checked; scripts/install-test-tools installs it
                """)
        }

        /// Runs `kubernetes-validate --strict` on `files`: whether it passed, and what it printed.
        static func validate(_ files: [URL]) async throws -> (passed: Bool, report: String) {
            let run = try await StuckProgram.run(
                try venvTool("kubernetes-validate"), arguments: ["--strict", "--kubernetes-version", kubernetesVersion] + files.map(\.path),
                timeout: .seconds(300))
            return (run.succeeded, String(decoding: run.stdout + run.stderr, as: UTF8.self))
        }

        /// The YAML documents of `text` as JSON objects (PyYAML's safe loader).
        static func documents(_ text: String) async throws -> [[String: Any]] {
            let run = try await StuckProgram.run(
                try venvTool("python3"), arguments: ["-c", "import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)"],
                stdin: Data(text.utf8), timeout: .seconds(120))
            #expect(run.succeeded, "\(String(decoding: run.stderr, as: UTF8.self))")
            return try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [[String: Any]], "not a list of objects: \(text.prefix(200))")
        }

        /// The one document of the manifest `name`.
        static func manifest(_ name: String) async throws -> [String: Any] {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            let documents = try await documents(text)
            #expect(documents.count == 1, "\(name) has \(documents.count) documents")
            return try #require(documents.first, "\(name) is empty")
        }

        /// The value at a dotted path of a JSON object; a number in the path indexes an array.
        static func value(_ object: Any?, _ path: String) -> Any? {
            path.split(separator: ".").reduce(object) { node, key in
                if let index = Int(key), let array = node as? [Any] { return array.indices.contains(index) ? array[index] : nil }
                return (node as? [String: Any])?[String(key)]
            }
        }

        static func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue ?? (value as? String).flatMap(Double.init) }

        /// A Kubernetes CPU quantity in cores: `2`, `1.5` or `1500m`.
        static func cores(_ value: Any?) -> Double? {
            guard let text = value as? String, text.hasSuffix("m") else { return number(value) }
            return Double(text.dropLast()).map { $0 / 1000 }
        }

        /// The Deployment's pod spec and its `workerbee` container.
        static func serverPod() async throws -> (pod: [String: Any], server: [String: Any]) {
            let deployment = try await manifest("deployment.yaml")
            let pod = try #require(value(deployment, "spec.template.spec") as? [String: Any])
            let containers = try #require(pod["containers"] as? [[String: Any]])
            return (pod, try #require(containers.first { $0["name"] as? String == "workerbee" }, "no container named workerbee"))
        }

        @Test func everyManifestPassesTheKubernetesSchemas() async throws {
            let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
                .filter { $0.hasSuffix(".yaml") && !Self.unvalidated.contains($0) }.sorted()
            #expect(Set(names).isSuperset(of: ["deployment.yaml", "service.yaml", "pdb.yaml", "hpa.yaml", "prometheus-adapter-rules.yaml"]), "\(names)")
            let files = names.map { Self.folder.appendingPathComponent($0) }
            let (passed, report) = try await Self.validate(files)
            #expect(passed, "\(report)")
            // An unknown kind only warns: every file must say it passed, and nothing may warn.
            for file in files { #expect(report.contains("INFO \(file.path) passed"), "\(report)") }
            #expect(!report.contains("WARN"), "\(report)")
        }

        @Test func aBrokenManifestIsRefused() async throws {
            let original = try String(contentsOf: Self.folder.appendingPathComponent("deployment.yaml"), encoding: .utf8)
            let field = try #require(original.range(of: #"terminationGracePeriodSeconds: \d+"#, options: .regularExpression), "deployment.yaml has no terminationGracePeriodSeconds")
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-k8s-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let broken = scratch.appendingPathComponent("deployment.yaml")
            try original.replacingCharacters(in: field, with: #"terminationGracePeriodSeconds: "soon""#).write(to: broken, atomically: true, encoding: .utf8)
            let (passed, report) = try await Self.validate([broken])
            #expect(!passed, "\(report)")
            #expect(report.contains("terminationGracePeriodSeconds") && report.contains("is not of type"), "\(report)")
        }

        @Test func theDeploymentsProbesAndDrainMatchTheServer() async throws {
            let (pod, server) = try await Self.serverPod()
            let args = try #require(server["args"] as? [String])
            func option(_ name: String) -> String? {
                args.firstIndex(of: name).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
            }
            #expect(args.first == "serve")
            #expect(option("--host") == "0.0.0.0", "the server binds to loopback unless --host says otherwise")
            let port = try #require(Self.number(Self.value(server, "ports.0.containerPort")))
            let portName = Self.value(server, "ports.0.name") as? String
            #expect(option("--port").flatMap(Double.init) == port)
            for (probe, path) in [("readinessProbe", "/ready"), ("livenessProbe", "/health"), ("startupProbe", "/health")] {
                guard let check = Self.value(server, probe) else { continue }
                #expect(Self.value(check, "httpGet.path") as? String == path, "\(probe)")
                let target = Self.value(check, "httpGet.port")
                #expect(Self.number(target) == port || (portName != nil && target as? String == portName), "\(probe) port \(String(describing: target))")
            }
            #expect(Self.value(server, "readinessProbe") != nil && Self.value(server, "livenessProbe") != nil)
            // A liveness probe that gives up within seconds would restart a pod for what its workers survive.
            let misses = Self.number(Self.value(server, "livenessProbe.failureThreshold")) ?? 3
            let period = Self.number(Self.value(server, "livenessProbe.periodSeconds")) ?? 10
            #expect(misses * period >= 30, "the liveness probe gives up after \(misses * period) s")
            // Deletion: preStop sleep, then SIGTERM and the drain, all before the kubelet's SIGKILL.
            let sleep = try #require(Self.value(server, "lifecycle.preStop.exec.command") as? [String])
            #expect(sleep.first == "/bin/sleep")
            let pause = try #require(sleep.last.flatMap(Double.init), "\(sleep)")
            let drain = option("--drain-timeout").flatMap(Double.init) ?? 30
            let grace = try #require(Self.number(pod["terminationGracePeriodSeconds"]), "no terminationGracePeriodSeconds")
            #expect(grace > pause + drain, "grace \(grace) s is not more than preStop \(pause) s + drain \(drain) s")
            // One llama.cpp thread per core the pod may use.
            let workers = try #require(option("--workers").flatMap(Int.init)), threads = try #require(option("--threads").flatMap(Int.init))
            let cpu = try #require(Self.cores(Self.value(server, "resources.limits.cpu")), "no CPU limit")
            #expect(Double(workers * threads) == cpu, "\(workers) workers x \(threads) threads against \(cpu) CPUs")
            #expect(Self.cores(Self.value(server, "resources.requests.cpu")) == cpu)
        }

        @Test func theServiceBudgetAndAutoscalerSelectTheDeployment() async throws {
            let deployment = try await Self.manifest("deployment.yaml")
            let labels = try #require(Self.value(deployment, "spec.template.metadata.labels") as? [String: String])
            func selects(_ selector: Any?) -> Bool {
                guard let selector = selector as? [String: String], !selector.isEmpty else { return false }
                return selector.allSatisfy { labels[$0.key] == $0.value }
            }
            let service = try await Self.manifest("service.yaml")
            #expect(selects(Self.value(service, "spec.selector")))
            #expect(Self.number(Self.value(service, "spec.ports.0.port")) == 80)
            let (_, server) = try await Self.serverPod()
            let target = Self.value(service, "spec.ports.0.targetPort")
            #expect(Self.number(target) == 8080 || (target as? String == Self.value(server, "ports.0.name") as? String && Self.number(Self.value(server, "ports.0.containerPort")) == 8080))
            let budget = try await Self.manifest("pdb.yaml")
            #expect(selects(Self.value(budget, "spec.selector.matchLabels")))
            let autoscaler = try await Self.manifest("hpa.yaml")
            #expect(Self.value(autoscaler, "spec.scaleTargetRef.kind") as? String == "Deployment")
            #expect(Self.value(autoscaler, "spec.scaleTargetRef.name") as? String == Self.value(deployment, "metadata.name") as? String)
        }

        @Test func theAutoscalersMetricIsTheOneTheServerExports() async throws {
            let autoscaler = try await Self.manifest("hpa.yaml")
            let metrics = try #require(Self.value(autoscaler, "spec.metrics") as? [[String: Any]])
            let metric = try #require(metrics.lazy.compactMap { Self.value($0, "pods.metric.name") as? String }.first, "hpa.yaml has no Pods metric")
            let adapter = try await Self.manifest("prometheus-adapter-rules.yaml")
            let config = try #require((Self.value(adapter, "data") as? [String: Any])?["config.yaml"] as? String, "no config.yaml in the adapter's ConfigMap")
            let configuration = try await Self.documents(config).first
            let rules = try #require(Self.value(configuration, "rules") as? [[String: Any]], "no rules in the adapter's config")
            let rule = try #require(rules.first { Self.value($0, "name.as") as? String == metric }, "no adapter rule exposes \(metric)")
            let series = try #require(Self.value(rule, "seriesQuery") as? String)
            #expect(series.hasPrefix("workerbee_queue_texts{") && series.contains(#"namespace!="""#) && series.contains(#"pod!="""#), "\(series)")
            let matches = try #require(Self.value(rule, "name.matches") as? String)
            #expect("workerbee_queue_texts".range(of: matches, options: .regularExpression) != nil, "\(matches)")
            #expect(Self.value(rule, "resources.overrides.namespace.resource") as? String == "namespace")
            #expect(Self.value(rule, "resources.overrides.pod.resource") as? String == "pod")
            let query = try #require(Self.value(rule, "metricsQuery") as? String)
            #expect(query.contains("<<.Series>>{<<.LabelMatchers>>}") && query.contains("by (<<.GroupBy>>)"), "\(query)")
            let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/SERVER.md"), encoding: .utf8)
            #expect(docs.contains("`workerbee_queue_texts`"), "docs/SERVER.md does not list workerbee_queue_texts among the metrics")
        }
    }
}
