import BinaryCoding

/// Who the worker is, sent once when it starts.
public struct WorkerHello: Sendable, Equatable {
    /// The protocol version the worker speaks.
    public var protocolVersion: UInt32
    /// The worker's process id.
    public var pid: Int32
    /// llama.cpp build and system information.
    public var buildInfo: String

    /// Creates a hello.
    public init(protocolVersion: UInt32 = WireProtocol.version, pid: Int32, buildInfo: String) {
        self.protocolVersion = protocolVersion
        self.pid = pid
        self.buildInfo = buildInfo
    }
}
