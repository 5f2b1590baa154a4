// The SQLite floor of an authorization: what SQLite alone costs for the statements `zentra serve`
// runs for one approved decision (the card with its program and balances and the replay check, the
// two accounts locked and updated, the journal entry and its two lines, the spend counters, the
// authorization row, the tenant head, the event and the audit record, a savepoint around each
// decision), prepared once, bound and stepped from C: no HTTP, no JSON, no Swift. The rows carry
// the JSON of a real authorization, event and audit record read from the same database, which
// `zentra bench authorizations` filled (10,000 funded cards). Durable as the server is: WAL,
// synchronous=FULL, one passive checkpoint every 50 ms from a second connection.
//
// Usage: sqlite_floor DATABASE DECISIONS PER_COMMIT
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *path;
static sqlite3 *db;
static volatile int finished = 0;

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void *checkpointer(void *unused) {
    sqlite3 *connection;
    sqlite3_open(path, &connection);
    sqlite3_busy_timeout(connection, 10000);
    while (!finished) {
        usleep(50000);
        sqlite3_wal_checkpoint_v2(connection, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    }
    sqlite3_close(connection);
    return unused;
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *statement;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL) != SQLITE_OK) fail(sql);
    return statement;
}

/// Steps to the end, reading every column as the server does, then resets.
static void run(sqlite3_stmt *statement) {
    int code;
    while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(statement); i++) (void)sqlite3_column_text(statement, i);
    }
    if (code != SQLITE_DONE) fail(sqlite3_sql(statement));
    sqlite3_reset(statement);
}

static void text(sqlite3_stmt *statement, int index, const char *value) {
    sqlite3_bind_text(statement, index, value, -1, SQLITE_TRANSIENT);
}

static void integer(sqlite3_stmt *statement, int index, long long value) { sqlite3_bind_int64(statement, index, value); }

/// The first column of the first row of a query, copied.
static char *first(const char *sql) {
    sqlite3_stmt *statement = prepare(sql);
    if (sqlite3_step(statement) != SQLITE_ROW) fail(sql);
    char *value = strdup((const char *)sqlite3_column_text(statement, 0));
    sqlite3_finalize(statement);
    return value;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: sqlite_floor DATABASE DECISIONS PER_COMMIT\n");
        return 2;
    }
    path = argv[1];
    int decisions = atoi(argv[2]), perCommit = atoi(argv[3]);
    if (sqlite3_open(path, &db) != SQLITE_OK) fail("open");
    sqlite3_busy_timeout(db, 10000);
    // The server's settings (SQLiteEngine).
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-32768;"
                     "PRAGMA wal_autocheckpoint=20000; PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=ON", NULL, NULL, NULL);

    char *policy = first("SELECT policy FROM authorizations WHERE status = 'approved' LIMIT 1");
    char *evidence = first("SELECT evidence FROM authorizations WHERE status = 'approved' LIMIT 1");
    char *event = first("SELECT data FROM events WHERE type = 'authorization.approved' LIMIT 1");
    char *audit = first("SELECT context FROM audit_log WHERE action = 'authorization.decided' LIMIT 1");
    char *tenant = first("SELECT tenant_id FROM cards GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1");
    char *keyHash = first("SELECT key_hash FROM api_keys WHERE role = 'network' LIMIT 1");

    int cardCount = 0;
    char (*cards)[64] = malloc(100000 * 64), (*available)[64] = malloc(100000 * 64), (*reserved)[64] = malloc(100000 * 64);
    sqlite3_stmt *list = prepare("SELECT id, available_ledger_account_id, reserved_ledger_account_id FROM cards WHERE tenant_id = ? LIMIT 100000");
    text(list, 1, tenant);
    while (sqlite3_step(list) == SQLITE_ROW) {
        snprintf(cards[cardCount], 64, "%s", sqlite3_column_text(list, 0));
        snprintf(available[cardCount], 64, "%s", sqlite3_column_text(list, 1));
        snprintf(reserved[cardCount], 64, "%s", sqlite3_column_text(list, 2));
        cardCount++;
    }
    sqlite3_finalize(list);
    if (cardCount == 0) fail("no cards");

    sqlite3_stmt *apiKey = prepare("SELECT id, tenant_id, role FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL");
    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE"), *savepoint = prepare("SAVEPOINT unit"), *release = prepare("RELEASE unit"),
                 *commit = prepare("COMMIT");
    sqlite3_stmt *card = prepare(
        "SELECT c.*, la.debits_minor AS la_debits, la.credits_minor AS la_credits, lr.debits_minor AS lr_debits, lr.credits_minor AS lr_credits,"
        " p.id AS p_id, p.name AS p_name, p.currency AS p_currency, p.bin AS p_bin, p.max_cards_per_customer AS p_max_cards_per_customer,"
        " p.sensitive_details_enabled AS p_sensitive_details_enabled, p.spend_controls AS p_spend_controls, p.review_rules AS p_review_rules,"
        " p.review_outcome AS p_review_outcome, p.hold_lifetime_hours AS p_hold_lifetime_hours, p.authorization_webhook AS p_authorization_webhook,"
        " p.authorization_webhook_secret AS p_authorization_webhook_secret, p.created_at AS p_created_at, t.time_zone AS t_time_zone,"
        " (SELECT a.id FROM authorizations a WHERE a.tenant_id = ?1 AND a.network_reference = ?2) AS replay_id"
        " FROM cards c JOIN ledger_accounts la ON la.id = c.available_ledger_account_id JOIN ledger_accounts lr ON lr.id = c.reserved_ledger_account_id"
        " JOIN card_programs p ON p.id = c.program_id JOIN tenants t ON t.id = c.tenant_id WHERE c.tenant_id = ?1 AND c.id = ?3");
    sqlite3_stmt *accounts = prepare("SELECT id, debits_minor, credits_minor, currency, purpose FROM ledger_accounts WHERE tenant_id = ? AND id IN (?, ?) ORDER BY id");
    sqlite3_stmt *balances = prepare(
        "UPDATE ledger_accounts SET debits_minor = v.debits, credits_minor = v.credits FROM (SELECT ? AS id, ? AS debits, ? AS credits"
        " UNION ALL SELECT ? AS id, ? AS debits, ? AS credits) AS v WHERE ledger_accounts.tenant_id = ? AND ledger_accounts.id = v.id");
    sqlite3_stmt *journal = prepare("INSERT INTO journal_entries (id, tenant_id, description, intent_id, created_at) VALUES (?, ?, ?, NULL, ?)");
    sqlite3_stmt *lines = prepare(
        "INSERT INTO ledger_entries (id, tenant_id, journal_entry_id, ledger_account_id, direction, amount_minor, currency, created_at)"
        " VALUES (?1, ?2, ?3, ?4, 'debit', 375, 'USD', ?5), (?6, ?2, ?3, ?7, 'credit', 375, 'USD', ?5)");
    sqlite3_stmt *counters = prepare(
        "UPDATE cards SET spend_day_key = 20781, spend_day_minor = spend_day_minor + 375, spend_week_key = 20780,"
        " spend_week_minor = spend_week_minor + 375, spend_month_key = 24322, spend_month_minor = spend_month_minor + 375,"
        " spend_lifetime_minor = spend_lifetime_minor + 375 WHERE tenant_id = ? AND id = ?");
    sqlite3_stmt *authorization = prepare(
        "INSERT INTO authorizations (id, tenant_id, card_id, last4, status, amount_minor, currency, merchant, channel, device_location,"
        " network_reference, decline_reason, response_code, policy, hold_amount_minor, hold_status, hold_journal_entry_id, expires_at,"
        " available_minor, review, customer_decision, adjustments, window_day, window_week, window_month, evidence, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, '1090', 'approved', 375, 'USD', '{\"city\":\"Austin\",\"country\":\"US\",\"id\":\"m_bench\",\"mcc\":\"5411\",\"name\":\"Bench Store\"}',"
        " 'online', NULL, ?4, NULL, '00', ?5, 375, 'held', ?6, ?7, 9999994493, NULL, NULL, '[]', 20781, 20780, 24322, ?8, ?9, ?9)");
    sqlite3_stmt *head = prepare("UPDATE tenants SET event_sequence = event_sequence + ?2, audit_sequence = audit_sequence + ?2 WHERE id = ?1"
                                 " RETURNING event_sequence, audit_sequence, audit_head_hash");
    sqlite3_stmt *eventRow = prepare(
        "INSERT INTO events (id, tenant_id, sequence, type, object_type, object_id, data, request_id, created_at)"
        " VALUES (?1, ?2, (SELECT event_sequence FROM tenants WHERE id = ?2) - ?7, 'authorization.approved', 'authorization', ?3, ?4, ?5, ?6)");
    sqlite3_stmt *auditRow = prepare(
        "INSERT INTO audit_log (id, tenant_id, sequence, actor, action, object_type, object_id, request_id, idempotency_key, context, created_at,"
        " previous_hash, hash) VALUES (?1, ?2, (SELECT audit_sequence FROM tenants WHERE id = ?2) - ?7, 'key_floor', 'authorization.decided',"
        " 'authorization', ?3, ?4, NULL, ?5, ?6, '85979fd2cd43d759113e043391c8184f8574b4e789f887303a448b8c49020d90',"
        " '82264b32620604d26c3754a859a3dd43c303362c04b3f2f2e2afc9ceb4d23555')");
    sqlite3_stmt *auditHead = prepare("UPDATE tenants SET audit_head_hash = '82264b32620604d26c3754a859a3dd43c303362c04b3f2f2e2afc9ceb4d23555' WHERE id = ?");

    pthread_t thread;
    pthread_create(&thread, NULL, checkpointer, NULL);
    unsigned seed = (unsigned)time(NULL);
    long long now = 1795479138688199LL;
    // As in the server's group commit: each decision in a savepoint of its own, then the tenant's
    // event and audit head taken once for the batch, and each decision's event and audit record.
    char (*id)[8][64] = malloc(sizeof(char[8][64]) * perCommit);
    const char *kinds[8] = {"auth", "je", "le", "le", "evt", "aud", "req", "ref"};
    double started = seconds();
    for (int n = 0; n < decisions;) {
        run(begin);
        int batch = 0;
        for (; batch < perCommit && n < decisions; batch++, n++) {
            int c = rand_r(&seed) % cardCount;
            for (int k = 0; k < 8; k++) snprintf(id[batch][k], 64, "%s_floor%u_%d", kinds[k], seed, n);
            text(apiKey, 1, keyHash), run(apiKey);
            run(savepoint);
            text(card, 1, tenant), text(card, 2, id[batch][7]), text(card, 3, cards[c]), run(card);
            text(accounts, 1, tenant), text(accounts, 2, available[c]), text(accounts, 3, reserved[c]), run(accounts);
            text(balances, 1, available[c]), integer(balances, 2, 0), integer(balances, 3, 5507 + n);
            text(balances, 4, reserved[c]), integer(balances, 5, 5507 + n), integer(balances, 6, 10000000000LL), text(balances, 7, tenant), run(balances);
            text(journal, 1, id[batch][1]), text(journal, 2, tenant), text(journal, 3, id[batch][0]), integer(journal, 4, now), run(journal);
            text(lines, 1, id[batch][2]), text(lines, 2, tenant), text(lines, 3, id[batch][1]), text(lines, 4, reserved[c]), integer(lines, 5, now);
            snprintf(id[batch][3], 64, "le2_floor%u_%d", seed, n), text(lines, 6, id[batch][3]), text(lines, 7, available[c]), run(lines);
            text(counters, 1, tenant), text(counters, 2, cards[c]), run(counters);
            text(authorization, 1, id[batch][0]), text(authorization, 2, tenant), text(authorization, 3, cards[c]), text(authorization, 4, id[batch][7]);
            text(authorization, 5, policy), text(authorization, 6, id[batch][1]), integer(authorization, 7, now + 604800000000LL);
            text(authorization, 8, evidence), integer(authorization, 9, now), run(authorization);
            run(release);
        }
        text(head, 1, tenant), integer(head, 2, batch), run(head);
        for (int b = 0; b < batch; b++) {
            text(eventRow, 1, id[b][4]), text(eventRow, 2, tenant), text(eventRow, 3, id[b][0]), text(eventRow, 4, event), text(eventRow, 5, id[b][6]);
            integer(eventRow, 6, now), integer(eventRow, 7, b), run(eventRow);
            text(auditRow, 1, id[b][5]), text(auditRow, 2, tenant), text(auditRow, 3, id[b][0]), text(auditRow, 4, id[b][6]), text(auditRow, 5, audit);
            integer(auditRow, 6, now), integer(auditRow, 7, b), run(auditRow);
        }
        text(auditHead, 1, tenant), run(auditHead);
        run(commit);
    }
    double elapsed = seconds() - started;
    finished = 1;
    pthread_join(thread, NULL);
    long long written = 0;
    FILE *io = fopen("/proc/self/io", "r");
    char line[128];
    while (io && fgets(line, sizeof line, io)) sscanf(line, "wchar: %lld", &written);
    if (io) fclose(io);
    printf("sqlite floor: %d decisions, %d per commit: %.0f decisions/s, %.0f us each, %.0f KiB written each (WAL and checkpoints)\n",
           decisions, perCommit, decisions / elapsed, elapsed / decisions * 1e6, written / 1024.0 / decisions);
    return 0;
}
