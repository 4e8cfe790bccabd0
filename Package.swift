// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sfdest",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sfdest", targets: ["sfdest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // A strict, fast JSON parser shared by the body decoder, the store and the emulator.
        .target(name: "SfdestJSON"),
        // Pure domain: no I/O, Foundation only.
        .target(name: "Activation", dependencies: ["SfdestJSON"]),
        // The Salesforce client. Knows nothing of profiles or storage.
        .target(
            name: "SalesforceAPI",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // A local Salesforce org over real HTTP. Shares no code with the client.
        .target(
            name: "SalesforceEmulator",
            dependencies: [
                "SfdestJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // Persistence: configuration with sealed secrets, profiles, pending records, runs, failures.
        .target(
            name: "Store",
            dependencies: [
                "Activation", "SfdestJSON",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The way in: body decoding, group commit, fan-out, backfills.
        .target(
            name: "Ingest",
            dependencies: [
                "Activation", "Store", "SfdestJSON",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The way out: claim, batch, send, classify, retry.
        .target(
            name: "Delivery",
            dependencies: [
                "Activation", "Store", "SalesforceAPI",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // `/metrics`: a Prometheus registry per process (or per test runtime), no global bootstrap.
        .target(
            name: "SfdestMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Alerts: rules evaluated per destination, alert events, signed webhooks retried durably.
        .target(
            name: "Alerts",
            dependencies: [
                "Store", "Delivery",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The HTTP API (Hummingbird): `buildApplication`, API keys, the contract's routes.
        .target(
            name: "Server",
            dependencies: [
                "Activation", "Store", "Ingest", "Delivery", "SalesforceAPI", "SfdestMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The whole service in one process (serve, demo, end-to-end tests): data dir, keys, services.
        .target(
            name: "SfdestRuntime",
            dependencies: [
                "Alerts", "Server", "Store", "Ingest", "Delivery", "SalesforceEmulator", "EmulatorAdminClient", "Activation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // What the service-level tests share: the running service and emulator, captured logs.
        .target(
            name: "SfdestTestSupport",
            dependencies: [
                "SfdestRuntime", "SalesforceEmulator", "EmulatorAdminClient",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A typed client for the emulator's admin API (seed, fields, faults, stats).
        .target(
            name: "EmulatorAdminClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // `sfdest bench` scenarios.
        .target(
            name: "Benchmarks",
            dependencies: [
                "SalesforceEmulator", "SfdestRuntime", "EmulatorAdminClient", "Activation",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The CLI views of a running service (`sfdest runs`, `failures`, `audiences`, `destinations`):
        // calls through the contract and table rendering, kept out of the executable to be tested.
        .target(
            name: "SfdestCLI",
            dependencies: [
                "SfdestRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "sfdest",
            dependencies: [
                "SalesforceEmulator",
                "EmulatorAdminClient",
                "Benchmarks",
                "SfdestRuntime",
                "SfdestCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "SfdestJSONTests", dependencies: ["SfdestJSON"]),
        .testTarget(name: "ActivationTests", dependencies: ["Activation", "SfdestJSON"]),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Store", "Activation", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Store", "Activation"]),
        .testTarget(name: "DeliveryTests", dependencies: ["Delivery", "Store", "Activation"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Store", "Ingest", "Delivery", "SalesforceEmulator", "EmulatorAdminClient",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "SalesforceAPITests",
            dependencies: ["SalesforceAPI", "SalesforceEmulator", "EmulatorAdminClient", "Activation"]
        ),
        .testTarget(
            name: "SalesforceEmulatorTests",
            dependencies: [
                "SalesforceEmulator",
                "EmulatorAdminClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Table rendering of the CLI views.
        .testTarget(name: "SfdestCLITests", dependencies: ["SfdestCLI", "SfdestRuntime"]),
        // The real service against the real emulator on loopback, through the contract.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "SfdestTestSupport",
                "SfdestRuntime", "SfdestCLI", "SalesforceEmulator", "EmulatorAdminClient", "Activation",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Alerts through the contract: the real service, the real emulator, a real webhook receiver.
        .testTarget(
            name: "AlertsTests",
            dependencies: [
                "SfdestTestSupport",
                "Alerts", "SfdestRuntime", "SalesforceEmulator", "EmulatorAdminClient", "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The real `sfdest serve` process under SIGKILL and SIGTERM.
        .testTarget(
            name: "ProcessTests",
            dependencies: [
                "SfdestRuntime", "SalesforceEmulator", "EmulatorAdminClient", "Activation",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Generated malformed input against the HTTP API.
        .testTarget(
            name: "FuzzTests",
            dependencies: [
                "SfdestTestSupport",
                "SfdestRuntime", "Server", "Store", "SalesforceEmulator", "EmulatorAdminClient", "Activation", "Ingest", "Delivery",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The emulator driven by an independent client (simple-salesforce, Python) and the CLI.
        .testTarget(
            name: "CompatibilityTests",
            dependencies: ["SalesforceEmulator", "EmulatorAdminClient", "Benchmarks"]
        ),
    ]
)
