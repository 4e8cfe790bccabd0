import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain TCP connection to the server on loopback, for what an HTTP client would not do: send
/// half a request line, trickle a body, write a whole body before reading.
final class RawConnection: @unchecked Sendable {
    // One test task uses a connection at a time.
    private let fd: Int32
    private var open = true

    init(port: Int) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw RawConnectionFailure("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            closeDescriptor(fd)
            throw RawConnectionFailure("connect() to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        self.fd = fd
    }

    deinit {
        if self.open { closeDescriptor(self.fd) }
    }

    func disconnect() {
        if self.open {
            self.open = false
            closeDescriptor(self.fd)
        }
    }

    /// Writes everything; false once the peer closed (EPIPE, ECONNRESET).
    @discardableResult
    func send(_ text: String) -> Bool { self.send(Data(text.utf8)) }

    @discardableResult
    func send(_ data: Data) -> Bool {
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Bool in
            var offset = 0
            while offset < buffer.count {
                #if canImport(Glibc)
                let written = Glibc.send(self.fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                #else
                let written = Darwin.send(self.fd, buffer.baseAddress! + offset, buffer.count - offset, 0)
                #endif
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// What arrived within `timeout`, and whether the peer closed the connection by then (EOF or reset).
    struct Received {
        var data = Data()
        var closed = false
        var text: String { String(decoding: self.data, as: UTF8.self) }
    }

    /// Reads until the peer closes or `timeout` passes.
    func readUntilClosed(timeout: Duration) -> Received {
        self.read(timeout: timeout) { _ in false }
    }

    /// Reads until one whole response (head and Content-Length body) arrived, the peer closes, or `timeout` passes.
    func readResponse(timeout: Duration) -> Received {
        self.read(timeout: timeout) { data in Self.completeResponse(data) }
    }

    /// Waits at most `timeout` for the peer to close; true if it did (bytes that arrive are discarded).
    func waitForClose(timeout: Duration) -> Bool {
        self.readUntilClosed(timeout: timeout).closed
    }

    private func read(timeout: Duration, done: (Data) -> Bool) -> Received {
        var received = Received()
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !done(received.data) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            var poller = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = recv(self.fd, &buffer, buffer.count, 0)
            if count > 0 {
                received.data.append(contentsOf: buffer[0..<count])
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                received.closed = true
                break
            }
        }
        return received
    }

    /// A response head followed by as many body bytes as its Content-Length says.
    static func completeResponse(_ data: Data) -> Bool {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        return data.count - end.upperBound >= length
    }

    /// The value of a header of a response (case-insensitive name).
    static func header(_ name: String, in response: String) -> String? {
        let head = response.components(separatedBy: "\r\n\r\n").first ?? ""
        for line in head.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}

struct RawConnectionFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
