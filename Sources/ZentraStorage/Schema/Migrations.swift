import Foundation
import ZentraCore

/// Versioned schema migrations, written once for both engines where they can be (`{blob}` is the
/// type that differs; `{without_rowid}` clusters a SQLite table on its primary key); a statement
/// only one engine needs says which. Applied in order on start, each in its own transaction,
/// recorded in `schema_migrations`.
public enum Migrations {
    struct Migration {
        let version: Int64
        let name: String
        let statements: [Statement]
    }

    /// A statement of a migration: for both engines, or for one of them.
    struct Statement: ExpressibleByStringLiteral {
        let text: String
        let dialect: Dialect?

        init(stringLiteral text: String) {
            self.text = text
            self.dialect = nil
        }

        init(_ dialect: Dialect, _ text: String) {
            self.text = text
            self.dialect = dialect
        }

        static func sqlite(_ text: String) -> Statement { Statement(.sqlite, text) }
        static func postgres(_ text: String) -> Statement { Statement(.postgres, text) }

        func rendered(for dialect: Dialect) -> String? {
            guard self.dialect == nil || self.dialect == dialect else { return nil }
            return text.replacingOccurrences(of: "{blob}", with: dialect == .postgres ? "BYTEA" : "BLOB")
                .replacingOccurrences(of: "{without_rowid}", with: dialect == .sqlite ? " WITHOUT ROWID" : "")
        }
    }

    /// An arbitrary constant naming Zentra's migration lock among PostgreSQL advisory locks.
    static let migrationLockKey: Int64 = 0x5A_454E_5452_41

    /// The schema version this release migrates to.
    public static var latestVersion: Int64 { all.last?.version ?? 0 }

    static let all: [Migration] = [
        Migration(version: 1, name: "foundation", statements: [
            // The tenant row is also the head of the tenant's event order and audit chain: a unit of
            // work locks it last, just before commit, to number its events and link its audit records.
            """
            CREATE TABLE tenants (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL,
                event_sequence BIGINT NOT NULL DEFAULT 0, audit_sequence BIGINT NOT NULL DEFAULT 0,
                audit_head_hash TEXT NOT NULL)
            """,
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, role TEXT NOT NULL, name TEXT,
                key_prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL,
                revoked_at BIGINT)
            """,
            "CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at, id)",
            """
            CREATE TABLE idempotency_keys (
                tenant_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status TEXT NOT NULL,
                lock_token TEXT, locked_until BIGINT, response_status BIGINT, response_headers TEXT,
                response_body {blob}, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, key))
            """,
            "CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at)",
            """
            CREATE TABLE customers (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL,
                kyc_status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX customers_by_tenant ON customers (tenant_id, created_at, id)",
            """
            CREATE TABLE accounts (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, customer_id TEXT NOT NULL, currency TEXT NOT NULL,
                kind TEXT NOT NULL, available_ledger_account_id TEXT NOT NULL,
                reserved_ledger_account_id TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX accounts_by_tenant ON accounts (tenant_id, created_at, id)",
            // Totals are kept on the row because the row is also the lock a money decision takes;
            // `GET /ledger/accounts/{id}` checks them against the sum of the entries.
            """
            CREATE TABLE ledger_accounts (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, purpose TEXT NOT NULL,
                currency TEXT NOT NULL, account_id TEXT, system_key TEXT,
                debits_minor BIGINT NOT NULL DEFAULT 0, credits_minor BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL, UNIQUE (tenant_id, system_key))
            """,
            "CREATE INDEX ledger_accounts_by_tenant ON ledger_accounts (tenant_id, created_at, id)",
            """
            CREATE TABLE journal_entries (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, description TEXT NOT NULL, intent_id TEXT,
                created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE ledger_entries (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, journal_entry_id TEXT NOT NULL,
                ledger_account_id TEXT NOT NULL, direction TEXT NOT NULL, amount_minor BIGINT NOT NULL,
                currency TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX ledger_entries_by_account ON ledger_entries (tenant_id, ledger_account_id, created_at, id)",
            "CREATE INDEX ledger_entries_by_journal ON ledger_entries (journal_entry_id)",
            """
            CREATE TABLE deposits (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, account_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, transaction_reference TEXT NOT NULL,
                journal_entry_id TEXT NOT NULL, intent_id TEXT NOT NULL, created_at BIGINT NOT NULL,
                UNIQUE (tenant_id, transaction_reference))
            """,
            """
            CREATE TABLE events (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sequence BIGINT NOT NULL, type TEXT NOT NULL,
                object_type TEXT NOT NULL, object_id TEXT NOT NULL, data TEXT NOT NULL, request_id TEXT,
                created_at BIGINT NOT NULL, UNIQUE (tenant_id, sequence))
            """,
            """
            CREATE TABLE audit_log (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sequence BIGINT NOT NULL, actor TEXT NOT NULL,
                action TEXT NOT NULL, object_type TEXT NOT NULL, object_id TEXT NOT NULL, request_id TEXT,
                idempotency_key TEXT, context TEXT NOT NULL, created_at BIGINT NOT NULL,
                previous_hash TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (tenant_id, sequence))
            """,
            """
            CREATE TABLE runtime_intents (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, intent_key TEXT NOT NULL, type TEXT NOT NULL,
                scope TEXT NOT NULL, money_model TEXT NOT NULL, primitives TEXT NOT NULL, status TEXT NOT NULL,
                steps TEXT NOT NULL, subject TEXT, created_at BIGINT NOT NULL, UNIQUE (tenant_id, intent_key))
            """,
            "CREATE INDEX runtime_intents_by_tenant ON runtime_intents (tenant_id, created_at, id)",
        ]),
        Migration(version: 2, name: "card_programs", statements: [
            """
            CREATE TABLE card_programs (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, currency TEXT NOT NULL, bin TEXT NOT NULL,
                max_cards_per_customer BIGINT NOT NULL, sensitive_details_enabled BIGINT NOT NULL, spend_controls TEXT NOT NULL,
                review_rules TEXT NOT NULL, review_outcome TEXT NOT NULL, hold_lifetime_hours BIGINT NOT NULL,
                authorization_webhook TEXT, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX card_programs_by_tenant ON card_programs (tenant_id, created_at, id)",
        ]),
        // PAN and CVV only sealed (AES-GCM); `pan_hash` is a keyed hash, unique across tenants.
        Migration(version: 3, name: "cards", statements: [
            """
            CREATE TABLE cards (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, customer_id TEXT NOT NULL, account_id TEXT NOT NULL,
                program_id TEXT NOT NULL, currency TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL, last4 TEXT NOT NULL,
                exp_month BIGINT NOT NULL, exp_year BIGINT NOT NULL, pan_hash TEXT NOT NULL UNIQUE, sealed_data {blob} NOT NULL,
                spend_controls TEXT NOT NULL, geofence_enabled BIGINT NOT NULL, geofence_radius_km BIGINT NOT NULL,
                shipping TEXT, fulfillment_status TEXT, available_ledger_account_id TEXT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX cards_by_tenant ON cards (tenant_id, created_at, id)",
            "CREATE INDEX cards_by_customer ON cards (tenant_id, customer_id, program_id, status)",
            """
            CREATE TABLE card_fundings (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, card_id TEXT NOT NULL, account_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, transaction_reference TEXT NOT NULL,
                journal_entry_id TEXT NOT NULL, intent_id TEXT NOT NULL, created_at BIGINT NOT NULL,
                UNIQUE (tenant_id, transaction_reference))
            """,
        ]),
        // Authorizations. Spend per window lives on the card row (the row an authorization locks),
        // keyed by the window it counts for; every existing card gets its reserved ledger account.
        Migration(version: 4, name: "authorizations", statements: [
            "ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC'",
            // The signing secret of a program's decisioning webhook, sealed like card data.
            "ALTER TABLE card_programs ADD COLUMN authorization_webhook_secret {blob}",
            "ALTER TABLE cards ADD COLUMN reserved_ledger_account_id TEXT",
            "ALTER TABLE cards ADD COLUMN spend_day_key BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE cards ADD COLUMN spend_day_minor BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE cards ADD COLUMN spend_week_key BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE cards ADD COLUMN spend_week_minor BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE cards ADD COLUMN spend_month_key BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE cards ADD COLUMN spend_month_minor BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE cards ADD COLUMN spend_lifetime_minor BIGINT NOT NULL DEFAULT 0",
            """
            INSERT INTO ledger_accounts (id, tenant_id, name, purpose, currency, account_id, created_at)
            SELECT 'lacct_r' || substr(id, 6), tenant_id, id || ' reserved', 'card_reserved', currency, account_id, created_at FROM cards
            """,
            "UPDATE cards SET reserved_ledger_account_id = 'lacct_r' || substr(id, 6)",
            """
            CREATE TABLE authorizations (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, card_id TEXT NOT NULL, last4 TEXT NOT NULL, status TEXT NOT NULL,
                amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, merchant TEXT NOT NULL, channel TEXT NOT NULL,
                device_location TEXT, network_reference TEXT NOT NULL, decline_reason TEXT, response_code TEXT NOT NULL,
                policy TEXT NOT NULL, hold_amount_minor BIGINT, hold_status TEXT, hold_journal_entry_id TEXT,
                expires_at BIGINT, available_minor BIGINT NOT NULL, review TEXT, customer_decision TEXT,
                adjustments TEXT NOT NULL, window_day BIGINT NOT NULL, window_week BIGINT NOT NULL, window_month BIGINT NOT NULL,
                evidence TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                UNIQUE (tenant_id, network_reference))
            """,
            "CREATE INDEX authorizations_by_tenant ON authorizations (tenant_id, created_at, id)",
            "CREATE INDEX authorizations_by_status ON authorizations (tenant_id, status, created_at, id)",
            "CREATE INDEX authorizations_by_card ON authorizations (tenant_id, card_id, created_at, id)",
            "CREATE INDEX authorizations_holds_by_expiry ON authorizations (hold_status, expires_at)",
            // Evidence lists what happened to one object.
            "CREATE INDEX events_by_object ON events (tenant_id, object_id, sequence)",
            "CREATE INDEX audit_log_by_object ON audit_log (tenant_id, object_id, sequence)",
        ]),
        // Clearing, reconciliation, settlement, disputes. Each object is kept whole as JSON in `data`;
        // the columns beside it are what queries filter, match, sum and lock on.
        Migration(version: 5, name: "clearing", statements: [
            """
            CREATE TABLE transactions (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, card_id TEXT NOT NULL, authorization_id TEXT, currency TEXT NOT NULL,
                data TEXT NOT NULL, created_at BIGINT NOT NULL, UNIQUE (tenant_id, authorization_id))
            """,
            "CREATE INDEX transactions_by_tenant ON transactions (tenant_id, created_at, id)",
            """
            CREATE TABLE clearings (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, clearing_id TEXT NOT NULL, card_id TEXT NOT NULL, authorization_id TEXT,
                transaction_id TEXT NOT NULL, status TEXT NOT NULL, amount_minor BIGINT NOT NULL, currency TEXT NOT NULL,
                settlement_id TEXT, data TEXT NOT NULL, created_at BIGINT NOT NULL, UNIQUE (tenant_id, clearing_id))
            """,
            "CREATE INDEX clearings_by_tenant ON clearings (tenant_id, created_at, id)",
            "CREATE INDEX clearings_by_transaction ON clearings (tenant_id, transaction_id)",
            "CREATE INDEX clearings_unsettled ON clearings (tenant_id, currency, settlement_id)",
            """
            CREATE TABLE reconciliation_cases (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, clearing_id TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL,
                created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX reconciliation_cases_by_tenant ON reconciliation_cases (tenant_id, created_at, id)",
            "CREATE INDEX reconciliation_cases_by_status ON reconciliation_cases (tenant_id, status, created_at, id)",
            """
            CREATE TABLE settlements (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, currency TEXT NOT NULL, data TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX settlements_by_tenant ON settlements (tenant_id, created_at, id)",
            """
            CREATE TABLE disputes (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, transaction_id TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL,
                amount_minor BIGINT NOT NULL, settlement_id TEXT, data TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX disputes_by_tenant ON disputes (tenant_id, created_at, id)",
            "CREATE INDEX disputes_by_transaction ON disputes (tenant_id, transaction_id)",
            "CREATE INDEX disputes_unsettled ON disputes (tenant_id, currency, status, settlement_id)",
            // A clearing file by the network's `file_id`: who is ingesting it now, and what the last run counted.
            """
            CREATE TABLE clearing_files (
                tenant_id TEXT NOT NULL, file_id TEXT NOT NULL, status TEXT NOT NULL, digest TEXT, runs BIGINT NOT NULL,
                data TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, file_id))
            """,
        ]),
        // Webhook endpoints: the object in `data`, its signing secrets sealed beside it.
        Migration(version: 6, name: "webhook_endpoints", statements: [
            """
            CREATE TABLE webhook_endpoints (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL, sealed_secret {blob} NOT NULL,
                sealed_previous_secret {blob}, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, created_at, id)",
        ]),
        // Webhook delivery: the events table is the outbox. A tenant's cursor says up to which event
        // deliveries exist; a delivery row is claimed (`claim`, with `next_attempt_at` as the lease's
        // end) while one process sends it, and holds its attempts in `data`.
        Migration(version: 7, name: "webhook_deliveries", statements: [
            "CREATE TABLE webhook_cursors (tenant_id TEXT PRIMARY KEY, event_sequence BIGINT NOT NULL)",
            """
            CREATE TABLE webhook_deliveries (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL, status TEXT NOT NULL,
                next_attempt_at BIGINT, claim TEXT, claimed_at BIGINT, succeeded_at BIGINT, data TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
            "CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at, id)",
            "CREATE INDEX webhook_deliveries_succeeded ON webhook_deliveries (tenant_id, endpoint_id, succeeded_at)",
            "CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (tenant_id, event_id)",
        ]),
        // Operator console sessions: only the token's SHA-256 is stored, with the key that signed in
        // (revoking the key ends the session) and the CSRF token every form carries.
        Migration(version: 8, name: "console_sessions", statements: [
            """
            CREATE TABLE console_sessions (
                token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, key_id TEXT NOT NULL, csrf_token TEXT NOT NULL,
                created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
            """,
            "CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at)",
        ]),
        // The narrow decision model. A decision stores what it needs to be re-derived (its inputs, the
        // card version it saw, each rule's outcome), not its renderings: the trace, the evidence and
        // the event body are rendered on read. Decisions of schema 8 keep their stored renderings in
        // `authorization_renderings` (render version 0). A card's balances and spend counters live
        // on one narrow row, `card_state`, that every decision on it locks and updates once; its
        // two ledger accounts keep no totals of their own from here on. Ledger lines are indexed by
        // owner (the card, or the customer account) so a hold's two lines land on one page.
        Migration(version: 9, name: "narrow_decisions", statements: [
            """
            CREATE TABLE card_state (
                card_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, version BIGINT NOT NULL,
                available_debits BIGINT NOT NULL, available_credits BIGINT NOT NULL,
                reserved_debits BIGINT NOT NULL, reserved_credits BIGINT NOT NULL,
                day_key BIGINT NOT NULL, day_minor BIGINT NOT NULL, week_key BIGINT NOT NULL, week_minor BIGINT NOT NULL,
                month_key BIGINT NOT NULL, month_minor BIGINT NOT NULL, lifetime_minor BIGINT NOT NULL){without_rowid}
            """,
            // Updated in place by every decision: room on its page keeps the update a HOT update.
            .postgres("ALTER TABLE card_state SET (fillfactor = 70)"),
            .postgres("ALTER TABLE tenants SET (fillfactor = 50)"),
            """
            INSERT INTO card_state (card_id, tenant_id, version, available_debits, available_credits, reserved_debits, reserved_credits,
                                    day_key, day_minor, week_key, week_minor, month_key, month_minor, lifetime_minor)
            SELECT c.id, c.tenant_id, 1, la.debits_minor, la.credits_minor, lr.debits_minor, lr.credits_minor, c.spend_day_key,
                   c.spend_day_minor, c.spend_week_key, c.spend_week_minor, c.spend_month_key, c.spend_month_minor, c.spend_lifetime_minor
            FROM cards c JOIN ledger_accounts la ON la.id = c.available_ledger_account_id
                         JOIN ledger_accounts lr ON lr.id = c.reserved_ledger_account_id
            """,
            "ALTER TABLE cards DROP COLUMN spend_day_key",
            "ALTER TABLE cards DROP COLUMN spend_day_minor",
            "ALTER TABLE cards DROP COLUMN spend_week_key",
            "ALTER TABLE cards DROP COLUMN spend_week_minor",
            "ALTER TABLE cards DROP COLUMN spend_month_key",
            "ALTER TABLE cards DROP COLUMN spend_month_minor",
            "ALTER TABLE cards DROP COLUMN spend_lifetime_minor",
            // Every state of a card that policy looks at, append-only; a decision names the one it saw.
            """
            CREATE TABLE card_versions (
                card_id TEXT NOT NULL, version BIGINT NOT NULL, tenant_id TEXT NOT NULL, status TEXT NOT NULL, spend_controls TEXT NOT NULL,
                geofence_enabled BIGINT NOT NULL, geofence_radius_km BIGINT NOT NULL, created_at BIGINT NOT NULL,
                PRIMARY KEY (card_id, version)){without_rowid}
            """,
            """
            INSERT INTO card_versions (card_id, version, tenant_id, status, spend_controls, geofence_enabled, geofence_radius_km, created_at)
            SELECT id, 1, tenant_id, status, spend_controls, geofence_enabled, geofence_radius_km, updated_at FROM cards
            """,
            "ALTER TABLE ledger_accounts ADD COLUMN owner_id TEXT",
            "UPDATE ledger_accounts SET owner_id = COALESCE(account_id, id)",
            "UPDATE ledger_accounts SET owner_id = c.id FROM cards c WHERE ledger_accounts.id = c.available_ledger_account_id",
            "UPDATE ledger_accounts SET owner_id = c.id FROM cards c WHERE ledger_accounts.id = c.reserved_ledger_account_id",
            "UPDATE ledger_accounts SET debits_minor = 0, credits_minor = 0 WHERE purpose IN ('card_available', 'card_reserved')",
            // SQLite: the append-only tables clustered on their (time-ordered) ids, one B-tree each
            // instead of a rowid tree and an id index; the lines gain their owner.
            .sqlite("""
                CREATE TABLE ledger_entries_new (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, journal_entry_id TEXT NOT NULL, ledger_account_id TEXT NOT NULL,
                    owner_id TEXT NOT NULL, direction TEXT NOT NULL, amount_minor BIGINT NOT NULL, currency TEXT NOT NULL,
                    created_at BIGINT NOT NULL) WITHOUT ROWID
                """),
            .sqlite("""
                INSERT INTO ledger_entries_new (id, tenant_id, journal_entry_id, ledger_account_id, owner_id, direction, amount_minor, currency, created_at)
                SELECT e.id, e.tenant_id, e.journal_entry_id, e.ledger_account_id, a.owner_id, e.direction, e.amount_minor, e.currency, e.created_at
                FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.ledger_account_id
                """),
            .sqlite("DROP TABLE ledger_entries"),
            .sqlite("ALTER TABLE ledger_entries_new RENAME TO ledger_entries"),
            .sqlite("CREATE INDEX ledger_entries_by_journal ON ledger_entries (journal_entry_id)"),
            .postgres("ALTER TABLE ledger_entries ADD COLUMN owner_id TEXT"),
            .postgres("UPDATE ledger_entries SET owner_id = a.owner_id FROM ledger_accounts a WHERE a.id = ledger_entries.ledger_account_id"),
            .postgres("ALTER TABLE ledger_entries ALTER COLUMN owner_id SET NOT NULL"),
            .postgres("DROP INDEX ledger_entries_by_account"),
            "CREATE INDEX ledger_entries_by_owner ON ledger_entries (tenant_id, owner_id, created_at, id)",
            .sqlite("""
                CREATE TABLE journal_entries_new (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, description TEXT NOT NULL, intent_id TEXT, created_at BIGINT NOT NULL) WITHOUT ROWID
                """),
            .sqlite("INSERT INTO journal_entries_new SELECT id, tenant_id, description, intent_id, created_at FROM journal_entries"),
            .sqlite("DROP TABLE journal_entries"),
            .sqlite("ALTER TABLE journal_entries_new RENAME TO journal_entries"),
            // An event rendered from its object's record has no stored body: `object_version` says
            // which state of the object it shows (0: as first decided).
            .sqlite("""
                CREATE TABLE events_new (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sequence BIGINT NOT NULL, type TEXT NOT NULL, object_type TEXT NOT NULL,
                    object_id TEXT NOT NULL, data TEXT, object_version BIGINT, request_id TEXT, created_at BIGINT NOT NULL,
                    UNIQUE (tenant_id, sequence)) WITHOUT ROWID
                """),
            .sqlite("""
                INSERT INTO events_new (id, tenant_id, sequence, type, object_type, object_id, data, request_id, created_at)
                SELECT id, tenant_id, sequence, type, object_type, object_id, data, request_id, created_at FROM events
                """),
            .sqlite("DROP TABLE events"),
            .sqlite("ALTER TABLE events_new RENAME TO events"),
            .sqlite("CREATE INDEX events_by_object ON events (tenant_id, object_id, sequence)"),
            .postgres("ALTER TABLE events ALTER COLUMN data DROP NOT NULL"),
            .postgres("ALTER TABLE events ADD COLUMN object_version BIGINT"),
            .sqlite("""
                CREATE TABLE audit_log_new (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sequence BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                    object_type TEXT NOT NULL, object_id TEXT NOT NULL, request_id TEXT, idempotency_key TEXT, context TEXT NOT NULL,
                    created_at BIGINT NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (tenant_id, sequence)) WITHOUT ROWID
                """),
            .sqlite("INSERT INTO audit_log_new SELECT * FROM audit_log"),
            .sqlite("DROP TABLE audit_log"),
            .sqlite("ALTER TABLE audit_log_new RENAME TO audit_log"),
            .sqlite("CREATE INDEX audit_log_by_object ON audit_log (tenant_id, object_id, sequence)"),
            // Decisions of schema 8, rendered as they were answered.
            """
            CREATE TABLE authorization_renderings (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, policy TEXT NOT NULL, evidence TEXT NOT NULL,
                available_minor BIGINT NOT NULL){without_rowid}
            """,
            """
            INSERT INTO authorization_renderings (id, tenant_id, policy, evidence, available_minor)
            SELECT id, tenant_id, policy, evidence, available_minor FROM authorizations
            """,
            """
            CREATE TABLE authorizations_narrow (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, card_id TEXT NOT NULL, card_version BIGINT, status TEXT NOT NULL,
                amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, merchant TEXT NOT NULL, channel TEXT NOT NULL, device_location TEXT,
                network_reference TEXT NOT NULL, decline_reason TEXT, response_code TEXT NOT NULL, rule_outcomes TEXT,
                hold_amount_minor BIGINT, hold_status TEXT, hold_journal_entry_id TEXT, expires_at BIGINT, available_before_minor BIGINT,
                spend_day_before_minor BIGINT, spend_week_before_minor BIGINT, spend_month_before_minor BIGINT,
                spend_lifetime_before_minor BIGINT, window_day BIGINT NOT NULL, window_week BIGINT NOT NULL, window_month BIGINT NOT NULL,
                time_zone TEXT, received_at BIGINT, customer_decision TEXT, review TEXT, adjustments TEXT,
                policy_version BIGINT NOT NULL, render_version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL){without_rowid}
            """,
            """
            INSERT INTO authorizations_narrow (
                id, tenant_id, card_id, status, amount_minor, currency, merchant, channel, device_location, network_reference,
                decline_reason, response_code, hold_amount_minor, hold_status, hold_journal_entry_id, expires_at, window_day, window_week,
                window_month, customer_decision, review, adjustments, policy_version, render_version, created_at, updated_at)
            SELECT id, tenant_id, card_id, status, amount_minor, currency, merchant, channel, device_location, network_reference,
                   decline_reason, response_code, hold_amount_minor, hold_status, hold_journal_entry_id, expires_at, window_day, window_week,
                   window_month, customer_decision, review, adjustments, 1, 0, created_at, updated_at
            FROM authorizations
            """,
            "DROP TABLE authorizations",
            "ALTER TABLE authorizations_narrow RENAME TO authorizations",
            "CREATE UNIQUE INDEX authorizations_by_reference ON authorizations (tenant_id, network_reference)",
            "CREATE INDEX authorizations_by_tenant ON authorizations (tenant_id, created_at, id)",
            "CREATE INDEX authorizations_by_card ON authorizations (tenant_id, card_id, created_at, id)",
            // The operator's queue is the one status looked up on its own.
            "CREATE INDEX authorizations_in_review ON authorizations (tenant_id, created_at, id) WHERE status = 'review'",
            "CREATE INDEX authorizations_holds_by_expiry ON authorizations (expires_at) WHERE hold_status = 'held'",
        ]),
        // Decisions asked for by a card network over ISO 8583 keep the message's fields they used
        // (render version 2 shows them in the evidence and names every decision's `source`).
        Migration(version: 10, name: "network_messages", statements: [
            "ALTER TABLE authorizations ADD COLUMN network_message TEXT",
        ]),
        // Answers that show a secret are kept sealed for their replays (`StoredResponse.sealed`).
        Migration(version: 11, name: "sealed_idempotent_responses", statements: [
            "ALTER TABLE idempotency_keys ADD COLUMN response_sealed BIGINT NOT NULL DEFAULT 0",
        ]),
        // Where each tenant's audit chain was last verified to (`AuditCheckpoints`).
        Migration(version: 12, name: "audit_checkpoints", statements: [
            "CREATE TABLE audit_checkpoints (tenant_id TEXT PRIMARY KEY REFERENCES tenants(id), sequence BIGINT NOT NULL, hash TEXT NOT NULL, verified_at BIGINT NOT NULL)",
        ]),
        // Pending deliveries by endpoint in due order: each endpoint's next due delivery, and its
        // claims, are found without reading the rest of a backlog (one index across endpoints made
        // every delivery pass read all of it).
        Migration(version: 13, name: "webhook_deliveries_pending_by_endpoint", statements: [
            "CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (tenant_id, endpoint_id, next_attempt_at) WHERE status = 'pending'",
            "DROP INDEX webhook_deliveries_due",
        ]),
        // Fewer index entries per delivery, which is written twice (made, concluded): no query
        // looks deliveries up by event, and only succeeded ones by when they succeeded.
        Migration(version: 14, name: "webhook_deliveries_leaner_indexes", statements: [
            "DROP INDEX webhook_deliveries_by_event",
            "DROP INDEX webhook_deliveries_succeeded",
            "CREATE INDEX webhook_deliveries_succeeded ON webhook_deliveries (tenant_id, endpoint_id, succeeded_at) WHERE succeeded_at IS NOT NULL",
        ]),
        // A statement that writes without a transaction checks what it wrote and, when another
        // writer got there first, fails whole as a lost race (SQLSTATE 40001), to run again.
        Migration(version: 15, name: "zentra_assert", statements: [
            .postgres("""
                CREATE FUNCTION zentra_assert(holds boolean, message text) RETURNS boolean LANGUAGE plpgsql AS $$
                BEGIN
                    IF NOT holds THEN RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = message; END IF;
                    RETURN holds;
                END $$
                """),
        ]),
        // Webhook delivery reads each endpoint's events in order from the events table: its stream
        // says how far its first attempts have been handed out, a claim holds a range of it while
        // one process sends it, and a delivery row is written once, when its first attempt is
        // recorded (or for a retry, a redelivery, a claim taken over). Every endpoint starts where
        // its tenant's cursor was: the events before it have their rows.
        Migration(version: 16, name: "webhook_streams", statements: [
            "CREATE TABLE webhook_streams (endpoint_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, event_sequence BIGINT NOT NULL)",
            """
            CREATE TABLE webhook_claims (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, endpoint_id TEXT NOT NULL, after_sequence BIGINT NOT NULL,
                through_sequence BIGINT NOT NULL, deliveries BIGINT NOT NULL, lease_until BIGINT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX webhook_claims_by_lease ON webhook_claims (tenant_id, lease_until)",
            """
            INSERT INTO webhook_streams (endpoint_id, tenant_id, event_sequence)
            SELECT e.id, e.tenant_id, COALESCE(c.event_sequence, t.event_sequence) FROM webhook_endpoints e JOIN tenants t ON t.id = e.tenant_id
            LEFT JOIN webhook_cursors c ON c.tenant_id = e.tenant_id
            """,
            "DROP TABLE webhook_cursors",
        ]),
        // A stream's health: an endpoint failing every attempt has its stream paused and probed
        // (`WebhookStreamHealth`), so its new events wait instead of each costing a failed
        // attempt; and what a disabled endpoint's stream still owes it (`WebhookStream`).
        Migration(version: 17, name: "webhook_stream_health", statements: [
            "ALTER TABLE webhook_streams ADD COLUMN failures BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE webhook_streams ADD COLUMN failing_since BIGINT",
            "ALTER TABLE webhook_streams ADD COLUMN paused_until BIGINT",
            "ALTER TABLE webhook_streams ADD COLUMN owed_through BIGINT",
            "ALTER TABLE webhook_streams ADD COLUMN resume_after BIGINT",
        ]),
    ]

    /// Applies every migration not yet recorded, up to `through` (tests load an older release's rows
    /// at the version they were written at). Safe to run from several processes at once: the
    /// version's primary key lets exactly one of them record it.
    public static func run(on engine: any DatabaseEngine, clock: any WallClock, through last: Int64 = .max) async throws -> [Int64] {
        try await engine.withTransaction { sql in
            if sql.dialect == .postgres {
                // Two processes starting on an empty database must not race on the catalog.
                try await sql.execute("SELECT pg_advisory_xact_lock(\(migrationLockKey))")
            }
            try await sql.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
        }
        var applied: [Int64] = []
        for migration in all where migration.version <= last {
            let didApply = try await engine.withTransaction { sql -> Bool in
                if sql.dialect == .postgres {
                    // Serializes concurrent starts of several processes on one database.
                    try await sql.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                }
                let done = try await sql.queryOne("SELECT version FROM schema_migrations WHERE version = \(migration.version)")
                guard done == nil else { return false }
                for statement in migration.statements {
                    guard let text = statement.rendered(for: sql.dialect) else { continue }
                    try await sql.execute(SQL(stringLiteral: text))
                }
                try await sql.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(migration.version), \(migration.name), \(clock.now()))")
                return true
            }
            if didApply { applied.append(migration.version) }
        }
        return applied
    }
}
