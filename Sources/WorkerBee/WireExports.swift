// The types of other WorkerBee modules that users of the host library meet in its API, so that
// `import WorkerBee` is enough to use it.
@_exported import enum WorkerBeeWire.ModelKind
@_exported import struct WorkerBeeWire.EmbedResult
@_exported import struct WorkerBeeWire.FailureCode
@_exported import struct WorkerBeeWire.WorkerHello
@_exported import struct WorkerBeeModels.ModelReference
@_exported import struct WorkerBeeModels.ModelDirectory
