import ZentraCore

/// Clearing files by the network's `file_id`: one run at a time per file, and what the last run counted.
public struct ClearingFileRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var clearingFiles: ClearingFileRepository<Self> { ClearingFileRepository(base: self) }
}

extension ClearingFileRepository {
    /// The last completed run of the file, if any.
    public func find(_ fileID: String) async throws -> ClearingFileSummary? {
        guard let row = try await sql.queryOne("SELECT data FROM clearing_files WHERE tenant_id = \(tenant) AND file_id = \(fileID)"),
              try row.optionalString("data") != nil else { return nil }
        return try row.json("data")
    }
}

extension ClearingFileRepository where Scope == WriteTransaction {
    /// Starts a run of the file: answers how many runs it has had (this one included) and the
    /// digest of the last completed run, or nil while another run is in progress. A run that has
    /// not been heard of since `staleBefore` (its server died) is taken over.
    public func claim(_ fileID: String, staleBefore: Timestamp) async throws -> (runs: Int64, previousDigest: String?)? {
        guard let row = try await sql.queryOne("""
            INSERT INTO clearing_files (tenant_id, file_id, status, runs, created_at, updated_at)
            VALUES (\(tenant), \(fileID), '\(raw: ClearingFileStatus.processing.rawValue)', 1, \(now), \(now))
            ON CONFLICT (tenant_id, file_id) DO UPDATE SET status = '\(raw: ClearingFileStatus.processing.rawValue)', runs = clearing_files.runs + 1, updated_at = excluded.updated_at
            WHERE clearing_files.status = '\(raw: ClearingFileStatus.completed.rawValue)' OR clearing_files.updated_at < \(staleBefore)
            RETURNING runs, digest
            """) else { return nil }
        return (try row.int("runs"), try row.optionalString("digest"))
    }

    /// Tells other servers this run is alive (a run not heard of for a while is taken over).
    public func touch(_ fileID: String) async throws {
        try await sql.execute("""
            UPDATE clearing_files SET updated_at = \(now) WHERE tenant_id = \(tenant) AND file_id = \(fileID) AND status = '\(raw: ClearingFileStatus.processing.rawValue)'
            """)
    }

    public func complete(_ summary: ClearingFileSummary) async throws {
        try await sql.execute("""
            UPDATE clearing_files SET status = '\(raw: ClearingFileStatus.completed.rawValue)', digest = \(summary.sha256), data = \(try ZentraJSON.encodeString(summary)),
                   updated_at = \(now)
            WHERE tenant_id = \(tenant) AND file_id = \(summary.fileId)
            """)
    }

    /// Gives a run up (the database failed under it) so that the file can be sent again at once.
    public func abandon(_ fileID: String) async throws {
        try await sql.execute("""
            UPDATE clearing_files SET status = '\(raw: ClearingFileStatus.completed.rawValue)', updated_at = \(now)
            WHERE tenant_id = \(tenant) AND file_id = \(fileID) AND status = '\(raw: ClearingFileStatus.processing.rawValue)'
            """)
    }
}
