// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "zentra",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "zentra", targets: ["zentra"]),
        .executable(name: "zentra-bench", targets: ["zentra-bench"]),
        .library(name: "ZentraClient", targets: ["ZentraClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", exact: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
    ],
    targets: [
        /// Pure domain: money, currencies, identifiers, ledger postings, state machines, errors. No I/O.
        .target(
            name: "ZentraCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        /// The store port (one unit of work) and its SQLite and PostgreSQL engines.
        .target(
            name: "ZentraStorage",
            dependencies: [
                "ZentraCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// Use cases: load state, let the core decide, commit the outcome through one unit of work.
        .target(
            name: "ZentraApp",
            dependencies: [
                "ZentraCore", "ZentraStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        /// Outbound HTTP: signed calls to customers' endpoints (real-time authorization decisioning).
        .target(
            name: "ZentraWebhooks",
            dependencies: [
                "ZentraCore", "ZentraStorage", "ZentraApp",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The card-network link: ISO 8583 over TCP (codec, framing, listener) into the same engine.
        .target(
            name: "ZentraISO8583",
            dependencies: [
                "ZentraCore", "ZentraStorage", "ZentraApp",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        /// The Hummingbird application: context, middleware, one controller per resource, and the
        /// operator console (server-rendered Mustache templates).
        .target(
            name: "ZentraHTTP",
            dependencies: [
                "ZentraCore", "ZentraStorage", "ZentraApp", "ZentraWebhooks", "ZentraISO8583",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/console")]
        ),
        /// The Swift SDK: a client of the HTTP API with no server dependency.
        .target(
            name: "ZentraClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        /// What the two executables share: the database option, a store for a command's length.
        .target(
            name: "ZentraCommandLine",
            dependencies: [
                "ZentraHTTP", "ZentraApp", "ZentraStorage", "ZentraCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "zentra",
            dependencies: [
                "ZentraCommandLine", "ZentraHTTP", "ZentraISO8583", "ZentraApp", "ZentraStorage", "ZentraCore", "ZentraClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        /// The benchmarks, out of the production binary.
        .executableTarget(
            name: "zentra-bench",
            dependencies: [
                "ZentraCommandLine", "ZentraApp", "ZentraStorage", "ZentraCore", "ZentraWebhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        /// What the storage and HTTP tests share: the two engines as test arguments, a throwaway
        /// PostgreSQL server per test process, a settable clock.
        .target(
            name: "ZentraTestSupport",
            dependencies: ["ZentraCore", "ZentraStorage", .product(name: "Logging", package: "swift-log")],
            path: "Tests/ZentraTestSupport"
        ),
        .testTarget(name: "ZentraCoreTests", dependencies: ["ZentraCore"]),
        /// The store port's contract, one suite run against SQLite and PostgreSQL.
        .testTarget(name: "ZentraStorageTests", dependencies: ["ZentraStorage", "ZentraCore", "ZentraTestSupport"]),
        .testTarget(name: "ZentraISO8583Tests", dependencies: ["ZentraISO8583"]),
        .testTarget(
            name: "ZentraClientTests",
            dependencies: [
                "ZentraClient", "ZentraHTTP", "ZentraApp", "ZentraStorage", "ZentraCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ZentraHTTPTests",
            dependencies: [
                "ZentraHTTP", "ZentraApp", "ZentraStorage", "ZentraCore", "ZentraWebhooks", "ZentraTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Reads the golden databases earlier releases recorded.
                .product(name: "GRDB", package: "GRDB.swift"),
                // Connection deadlines on a channel whose clock the test moves.
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ],
            // Read from the source tree by GoldenDecisionTests, not built.
            exclude: ["Golden"]
        ),
    ]
)
