import Testing

/// The deployment tests, one after another: each starts several servers (or packs a whole build),
/// and side by side they would load a 2-core machine enough to slow every other suite beside them.
@Suite(.serialized) enum Deployment {}
