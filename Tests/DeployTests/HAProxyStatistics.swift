/// What haproxy's statistics page says of the `workerbee` backend.
struct HAProxyStatistics {
    /// Each server's state: `UP`, `DOWN`, `UP 1/2`, ...
    var serverStates: [String: String] = [:]
    /// Requests sent again after a failed connection or a retryable answer (`wretr`).
    var retries = 0
    /// Retries that went to another server (`wredis`).
    var redispatches = 0

    init(csv: String) {
        let lines = csv.split(separator: "\n")
        guard let header = lines.first?.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init) else { return }
        func column(_ name: String) -> Int? { header.firstIndex(of: name) }
        guard let proxy = column("pxname"), let server = column("svname"), let status = column("status"),
            let retried = column("wretr"), let redispatched = column("wredis")
        else { return }
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > max(status, retried, redispatched), fields[proxy] == "workerbee" else { continue }
            if fields[server] == "BACKEND" {
                retries = Int(fields[retried]) ?? 0
                redispatches = Int(fields[redispatched]) ?? 0
            } else if fields[server] != "FRONTEND" {
                serverStates[fields[server]] = fields[status]
            }
        }
    }
}
