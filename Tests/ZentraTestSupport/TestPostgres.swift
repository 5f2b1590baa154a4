import Foundation
import Synchronization
import Logging
import ZentraStorage

/// A throwaway PostgreSQL server for this test process: `initdb` and `pg_ctl` in a temporary folder
/// on a free port, stopped and deleted when the process exits. `ZENTRA_TEST_POSTGRES_URL`
/// (`postgres://user:pass@host:port/db`) points the tests at an existing server instead.
/// Every test gets a database of its own, so parallel tests never share a schema.
public actor TestPostgres {
    public static let shared = TestPostgres()

    /// One start for all callers: the actor is re-entered while the first start awaits.
    private var startup: Task<(DatabaseURL.Postgres, PostgresEngine), any Error>?

    public func makeDatabase() async throws -> DatabaseURL.Postgres {
        if startup == nil { startup = Task { try await Self.start() } }
        let (server, admin) = try await startup!.value
        let name = "zt_" + TimeOrderedIDGenerator().nextBody().lowercased()
        try await admin.withReader { sql in
            // FILE_COPY (PostgreSQL 15+) skips WAL-logging the template: much faster for many small databases.
            do {
                try await sql.execute("CREATE DATABASE \(raw: name) STRATEGY = FILE_COPY")
            } catch StoreError.other {
                try await sql.execute("CREATE DATABASE \(raw: name)")
            }
        }
        var url = server
        url.database = name
        return url
    }

    private static func start() async throws -> (DatabaseURL.Postgres, PostgresEngine) {
        let url: DatabaseURL.Postgres
        if let given = ProcessInfo.processInfo.environment["ZENTRA_TEST_POSTGRES_URL"] {
            guard case .postgres(let parsed) = try DatabaseURL(given) else { throw TestSetupError("not a postgres URL: \(given)") }
            url = parsed
        } else {
            url = try Self.launchCluster()
        }
        var logger = Logger(label: "test-postgres-admin")
        logger.logLevel = .error
        let engine = PostgresEngine(url: url, maximumConnections: 8, leaseTimeout: .seconds(60), logger: logger)
        Task.detached { await engine.client.run() }
        try await engine.ping()
        return (url, engine)
    }

    /// Runs `initdb` and `pg_ctl start`; as root, as the `postgres` user (initdb refuses root).
    private static func launchCluster() throws -> DatabaseURL.Postgres {
        guard let bin = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin",
                         "/usr/lib/postgresql/14/bin", "/usr/local/pgsql/bin", "/usr/bin"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") })
        else { throw TestSetupError("initdb not found: install PostgreSQL (scripts/test does) or set ZENTRA_TEST_POSTGRES_URL") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zentra-pg-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot {
            try run("/bin/chown", ["postgres", directory])
        }
        let port = 20000 + Int(getpid() % 20000)
        func postgres(_ tool: String, _ arguments: [String]) throws {
            if asRoot {
                try run("/usr/sbin/runuser", ["-u", "postgres", "--", bin + "/" + tool] + arguments, log: directory + "/setup.log")
            } else {
                try run(bin + "/" + tool, arguments, log: directory + "/setup.log")
            }
        }
        try postgres("initdb", ["-D", directory + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        // pg_ctl's own output goes to a file the postgres user can write.
        try postgres("pg_ctl", ["-D", directory + "/data", "-l", directory + "/log", "-w", "-o",
                                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300",
                                "start"])
        ClusterCleanup.register(pgCtl: bin + "/pg_ctl", directory: directory, asRoot: asRoot)
        return DatabaseURL.Postgres(host: "127.0.0.1", port: port, user: "postgres", password: nil, database: "postgres")
    }

    /// Runs a command to completion with `posix_spawn` and `waitpid`; its output goes to `log`.
    /// (Foundation's `Process` can miss the exit of a child that leaves a daemon behind.)
    static func run(_ executable: String, _ arguments: [String], log: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestSetupError("cannot start \(executable): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            throw TestSetupError("\(executable) \(arguments.joined(separator: " ")) failed (status \(status)); see \(log)")
        }
    }
}

/// Stops the cluster when the test process exits (atexit takes no context, hence the static).
enum ClusterCleanup {
    private static let command = Mutex<(pgCtl: String, directory: String, asRoot: Bool)?>(nil)

    static func register(pgCtl: String, directory: String, asRoot: Bool) {
        command.withLock { $0 = (pgCtl, directory, asRoot) }
        atexit {
            guard let (pgCtl, directory, asRoot) = ClusterCleanup.command.withLock({ $0 }) else { return }
            let stop = [pgCtl, "-D", directory + "/data", "-m", "immediate", "stop"]
            try? TestPostgres.run(asRoot ? "/usr/sbin/runuser" : stop[0], asRoot ? ["-u", "postgres", "--"] + stop : Array(stop.dropFirst()))
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
