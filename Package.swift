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
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // JSON: the value, a strict fast parser, the shape pre-scan of request bodies. Shared by the
        // body decoder, the store, the HTTP API and the emulator (JSON, not Salesforce logic).
        .target(name: "SfdestJSON"),
        // Foundation-free basics every layer shares: readable ids, a seeded generator, Duration in
        // seconds and nanoseconds.
        .target(name: "SfdestBasics"),
        // Pure domain: no I/O, Foundation only.
        .target(name: "Activation", dependencies: ["SfdestJSON"]),
        // The Salesforce client. Knows nothing of profiles or storage.
        .target(
            name: "SalesforceAPI",
            dependencies: [
                "SfdestBasics",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // RS256 for the JWT bearer flow's assertion.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // A local Salesforce org over real HTTP. Shares no code with the client.
        .target(
            name: "SalesforceEmulator",
            dependencies: [
                "SfdestJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                // The JWT bearer flow: the connected app's X.509 certificate and the RS256 check.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
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
        // The scale-out store: the same roles as SQLite's, on PostgreSQL (PostgresNIO), for several
        // sfdest processes sharing one database.
        .target(
            name: "PostgresStore",
            dependencies: [
                "Store", "Activation", "SfdestJSON",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
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
                "Activation", "Store", "SalesforceAPI", "SfdestBasics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
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
        // Delivery's state comes in through `DeliveryStateSource`, not from the delivery service.
        .target(
            name: "Alerts",
            dependencies: [
                "Store", "SfdestBasics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The HTTP API (Hummingbird): `buildApplication`, API keys, the contract's routes; the web UI
        // (server-rendered Mustache pages) on top of the same routes.
        .target(
            name: "Server",
            dependencies: [
                "Activation", "Store", "Ingest", "Delivery", "SalesforceAPI", "SfdestMetrics", "SfdestJSON", "SfdestBasics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The whole service in one process (serve, the demo, the bench, end-to-end tests): data dir,
        // keys, services. Links no emulator.
        .target(
            name: "SfdestRuntime",
            dependencies: [
                "Alerts", "Server", "Store", "PostgresStore", "Ingest", "Delivery", "SfdestMetrics", "SfdestBasics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // A small client of the contract (sfdest's own HTTP API): the CLI views, the demo, the bench
        // and the tests call the service through it.
        .target(
            name: "SfdestClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // `sfdest demo`: the emulator and the service in one process, driven through the contract.
        .target(
            name: "Demo",
            dependencies: [
                "SfdestRuntime", "SfdestClient", "SfdestCLI", "SfdestBasics", "SalesforceEmulator", "EmulatorAdminClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // What the service-level tests share: the running service and emulator, captured logs.
        .target(
            name: "SfdestTestSupport",
            dependencies: [
                "SfdestRuntime", "SfdestClient", "SalesforceEmulator", "EmulatorAdminClient", "PostgresStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
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
                "SalesforceEmulator", "SfdestRuntime", "SfdestClient", "SfdestBasics", "EmulatorAdminClient", "Activation", "PostgresStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The CLI views of a running service (`sfdest runs`, `failures`, `audiences`, `destinations`):
        // calls through the contract, table rendering and the progress line, kept out of the
        // executable to be tested. Links no part of the service.
        .target(
            name: "SfdestCLI",
            dependencies: [
                "SfdestClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "sfdest",
            dependencies: [
                "SalesforceEmulator",
                "EmulatorAdminClient",
                "Benchmarks",
                "Demo",
                "SfdestRuntime",
                "SfdestClient",
                "SfdestCLI",
                "PostgresStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "SfdestJSONTests", dependencies: ["SfdestJSON", "SfdestBasics"]),
        .testTarget(name: "ActivationTests", dependencies: ["Activation", "SfdestJSON"]),
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "Store", "Activation", "SfdestJSON",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Store", "Activation"]),
        // The store roles' contract, run against every backend: SQLite on a file, and PostgreSQL
        // when a server is given (`SFDEST_TEST_POSTGRES_URL`, started by `.ci/run` and `scripts/test`).
        .testTarget(
            name: "StoreContractTests",
            dependencies: [
                "Store", "PostgresStore", "Activation", "SfdestJSON", "SfdestTestSupport", "Delivery", "SalesforceAPI", "SalesforceEmulator",
                "EmulatorAdminClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(name: "DeliveryTests", dependencies: ["Delivery", "Store", "Activation"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "SfdestTestSupport", "SfdestRuntime", "SfdestClient", "Store", "SalesforceEmulator", "EmulatorAdminClient", "Server",
                "SfdestJSON", "SfdestBasics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "SalesforceAPITests",
            dependencies: [
                "SalesforceAPI", "SalesforceEmulator", "EmulatorAdminClient", "Activation", "SfdestTestSupport", "SfdestBasics",
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "SalesforceEmulatorTests",
            dependencies: [
                "SalesforceEmulator",
                "EmulatorAdminClient",
                "SfdestTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // Table rendering of the CLI views.
        .testTarget(name: "SfdestCLITests", dependencies: ["SfdestCLI"]),
        // The runtime's own logic: tuning variables, delivery's state handed to alerts, the data directory's keys, TLS.
        .testTarget(
            name: "SfdestRuntimeTests",
            dependencies: [
                "SfdestRuntime", "Alerts", "Delivery", "Store", "SfdestTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ]
        ),
        // The real service against the real emulator on loopback, through the contract.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "SfdestTestSupport",
                "SfdestRuntime", "SfdestClient", "SfdestCLI", "SalesforceEmulator", "EmulatorAdminClient", "Activation",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Alerts through the contract: the real service, the real emulator, a real webhook receiver.
        .testTarget(
            name: "AlertsTests",
            dependencies: [
                "SfdestTestSupport",
                "Alerts", "SfdestRuntime", "SfdestClient", "SalesforceEmulator", "EmulatorAdminClient", "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The real `sfdest serve` process under SIGKILL and SIGTERM.
        .testTarget(
            name: "ProcessTests",
            dependencies: [
                "SfdestTestSupport", "SfdestRuntime", "SfdestClient", "SfdestBasics", "SalesforceEmulator", "EmulatorAdminClient", "Activation",
                "PostgresStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Generated malformed input against the HTTP API.
        .testTarget(
            name: "FuzzTests",
            dependencies: [
                "SfdestTestSupport",
                "SfdestRuntime", "SfdestClient", "SfdestBasics", "Server", "Store", "SalesforceEmulator", "EmulatorAdminClient", "Activation", "Ingest", "Delivery",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The emulator driven by an independent client (simple-salesforce, Python) and the CLI.
        .testTarget(
            name: "CompatibilityTests",
            dependencies: ["SalesforceEmulator", "EmulatorAdminClient", "Benchmarks", "SfdestTestSupport"]
        ),
    ]
)
