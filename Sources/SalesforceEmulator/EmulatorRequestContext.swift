import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the connection, which the
/// `dropConnectionRate` fault closes without answering.
struct EmulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
