// The SQLite ceiling of the narrow decision model, measured before building it: what SQLite alone
// costs for an approved decision when a decision writes its facts once. Self-contained: it creates
// its own database with CARDS cards and EARLIER earlier decisions (each with its journal entry, two
// lines, event and audit record), then runs DECISIONS more in group commits of PER_COMMIT:
//
//   per batch:     BEGIN IMMEDIATE; the tenant's time zone; per decision the card's state row
//                  (balances and spend counters together) and the network-reference probe; then per
//                  decision the narrow authorization row, the journal entry and its two lines, the
//                  card state's one update, the event (no body: rendered on read) and the audit
//                  record; the tenant head once; COMMIT.
//
// No savepoints (nothing can fail a unit on SQLite's one writer), every statement prepared once.
// Durable as the server is: WAL, synchronous=FULL, a passive checkpoint every 50 ms from a second
// connection. PAGE_SIZE (optional, default 4096) sets the new database's page size. With KEEP=1 in
// the environment a database filled before with the same arguments is used again (its decisions
// carry on from its last one).
//
// Usage: sqlite_narrow_floor DIRECTORY CARDS EARLIER DECISIONS PER_COMMIT [PAGE_SIZE]
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

static char path[4096];
static sqlite3 *db;
static volatile int finished = 0;

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/// Bytes this process has written (WAL and checkpoints), from /proc/self/io.
static long long writtenBytes(void) {
    long long written = 0;
    FILE *io = fopen("/proc/self/io", "r");
    char line[128];
    while (io && fgets(line, sizeof line, io)) sscanf(line, "wchar: %lld", &written);
    if (io) fclose(io);
    return written;
}

/// User and system CPU of the whole process (the checkpointer thread included), in seconds.
static double cpuSeconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec(const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, error);
        exit(1);
    }
}

static void *checkpointer(void *unused) {
    sqlite3 *connection;
    sqlite3_open(path, &connection);
    sqlite3_busy_timeout(connection, 10000);
    // CHECKPOINT_MS in the environment: the server checkpoints every 50 ms.
    int interval = getenv("CHECKPOINT_MS") ? atoi(getenv("CHECKPOINT_MS")) : 50;
    while (!finished) {
        usleep(interval * 1000);
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

/// Steps to the end, reading every column as the server does, then resets; answers the rows seen.
static int run(sqlite3_stmt *statement) {
    int code, rows = 0;
    while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
        rows++;
        for (int i = 0; i < sqlite3_column_count(statement); i++) (void)sqlite3_column_int64(statement, i);
    }
    if (code != SQLITE_DONE) fail(sqlite3_sql(statement));
    sqlite3_reset(statement);
    return rows;
}

static void text(sqlite3_stmt *s, int i, const char *v) { sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT); }
static void integer(sqlite3_stmt *s, int i, long long v) { sqlite3_bind_int64(s, i, v); }

// Identifiers as the server makes them: a prefix, then time-ordered (a counter here), so each
// table's primary key grows at its right edge.
static void ident(char *out, const char *prefix, long long n) { snprintf(out, 48, "%s_%012llx%06llx", prefix, n, (n * 2654435761LL) & 0xffffff); }

static const char *schema =
    "CREATE TABLE tenants (id TEXT PRIMARY KEY, time_zone TEXT NOT NULL, event_sequence BIGINT NOT NULL, audit_sequence BIGINT NOT NULL,"
    " audit_head_hash TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE card_state (card_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, version BIGINT NOT NULL,"
    " available_debits BIGINT NOT NULL, available_credits BIGINT NOT NULL, reserved_debits BIGINT NOT NULL, reserved_credits BIGINT NOT NULL,"
    " day_key BIGINT NOT NULL, day_minor BIGINT NOT NULL, week_key BIGINT NOT NULL, week_minor BIGINT NOT NULL,"
    " month_key BIGINT NOT NULL, month_minor BIGINT NOT NULL, lifetime_minor BIGINT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE authorizations (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, card_id TEXT NOT NULL, card_version BIGINT NOT NULL,"
    " status TEXT NOT NULL, amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, channel TEXT NOT NULL, merchant TEXT NOT NULL,"
    " device_location TEXT, network_reference TEXT NOT NULL, decline_reason TEXT, response_code TEXT NOT NULL, rules TEXT NOT NULL,"
    " hold_amount_minor BIGINT, hold_status TEXT, hold_journal_entry_id TEXT, expires_at BIGINT, available_before_minor BIGINT NOT NULL,"
    " spend_before TEXT NOT NULL, utc_offset_seconds BIGINT NOT NULL, time_zone TEXT NOT NULL, received_at BIGINT NOT NULL,"
    " customer_decision TEXT, review TEXT, adjustments TEXT, policy_version BIGINT NOT NULL, created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX authorizations_by_reference ON authorizations (tenant_id, network_reference);"
    "CREATE INDEX authorizations_by_tenant ON authorizations (tenant_id, created_at, id);"
    "CREATE INDEX authorizations_by_card ON authorizations (tenant_id, card_id, created_at, id);"
    "CREATE INDEX authorizations_in_review ON authorizations (tenant_id, created_at, id) WHERE status = 'review';"
    "CREATE INDEX authorizations_holds_by_expiry ON authorizations (expires_at) WHERE hold_status = 'held';"
    "CREATE TABLE journal_entries (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, description TEXT NOT NULL, intent_id TEXT,"
    " created_at BIGINT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE ledger_entries (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, journal_entry_id TEXT NOT NULL,"
    " ledger_account_id TEXT NOT NULL, owner_id TEXT NOT NULL, direction TEXT NOT NULL, amount_minor BIGINT NOT NULL,"
    " currency TEXT NOT NULL, created_at BIGINT NOT NULL) WITHOUT ROWID;"
    // A card's two accounts (and a customer account's two) share one owner: the lines of a hold
    // land side by side at the end of the owner's range, one page, where an index by ledger
    // account put them on two random pages (half of what a decision wrote).
    "CREATE INDEX ledger_entries_by_owner ON ledger_entries (tenant_id, owner_id, created_at, id);"
    "CREATE INDEX ledger_entries_by_journal ON ledger_entries (journal_entry_id);"
    "CREATE TABLE events (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sequence BIGINT NOT NULL, type TEXT NOT NULL,"
    " object_type TEXT NOT NULL, object_id TEXT NOT NULL, data TEXT, request_id TEXT, created_at BIGINT NOT NULL) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX events_by_sequence ON events (tenant_id, sequence);"
    "CREATE INDEX events_by_object ON events (tenant_id, object_id, sequence);"
    "CREATE TABLE audit_log (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sequence BIGINT NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, object_type TEXT NOT NULL, object_id TEXT NOT NULL, request_id TEXT, idempotency_key TEXT,"
    " context TEXT NOT NULL, created_at BIGINT NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX audit_log_by_sequence ON audit_log (tenant_id, sequence);"
    "CREATE INDEX audit_log_by_object ON audit_log (tenant_id, object_id, sequence);";

static const char *merchant = "{\"city\":\"Austin\",\"country\":\"US\",\"id\":\"m_bench\",\"mcc\":\"5411\",\"name\":\"Bench Store\"}";
static const char *auditContext =
    "{\"amount_minor\":375,\"card\":\"card_000000000001000000\",\"deciding_rule\":null,\"decline_reason\":null,"
    "\"hold_journal_entry\":\"je_000000000001000000\",\"response_code\":\"00\",\"status\":\"approved\"}";
static const char *hash = "82264b32620604d26c3754a859a3dd43c303362c04b3f2f2e2afc9ceb4d23555";

static sqlite3_stmt *stateRead, *probe, *tenantRead, *authInsert, *journalInsert, *lineInsert, *stateUpdate, *eventInsert, *auditInsert,
    *head, *auditHead;

static void prepareAll(void) {
    tenantRead = prepare("SELECT time_zone FROM tenants WHERE id = ?");
    stateRead = prepare("SELECT * FROM card_state WHERE card_id = ? AND tenant_id = ?");
    probe = prepare("SELECT id FROM authorizations WHERE tenant_id = ? AND network_reference = ?");
    authInsert = prepare(
        "INSERT INTO authorizations (id, tenant_id, card_id, card_version, status, amount_minor, currency, channel, merchant, device_location,"
        " network_reference, decline_reason, response_code, rules, hold_amount_minor, hold_status, hold_journal_entry_id, expires_at,"
        " available_before_minor, spend_before, utc_offset_seconds, time_zone, received_at, customer_decision, review, adjustments,"
        " policy_version, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, 1, 'approved', ?4, 'USD', 'online', ?5, NULL, ?6, NULL, '00', 'ppppppppppppnp', ?4, 'held', ?7, ?8, ?9,"
        " '[0,0,0,0]', 0, 'UTC', ?10, NULL, NULL, NULL, 1, ?10, ?10)");
    journalInsert = prepare("INSERT INTO journal_entries (id, tenant_id, description, intent_id, created_at) VALUES (?, ?, 'hold', NULL, ?)");
    lineInsert = prepare(
        "INSERT INTO ledger_entries (id, tenant_id, journal_entry_id, ledger_account_id, owner_id, direction, amount_minor, currency,"
        " created_at) VALUES (?1, ?2, ?3, ?4, ?8, ?5, ?6, 'USD', ?7)");
    stateUpdate = prepare(
        "UPDATE card_state SET available_debits = available_debits + ?3, reserved_credits = reserved_credits + ?3,"
        " day_key = 20781, day_minor = day_minor + ?3, week_key = 20780, week_minor = week_minor + ?3, month_key = 24322,"
        " month_minor = month_minor + ?3, lifetime_minor = lifetime_minor + ?3 WHERE card_id = ?1 AND tenant_id = ?2");
    eventInsert = prepare(
        "INSERT INTO events (id, tenant_id, sequence, type, object_type, object_id, data, request_id, created_at)"
        " VALUES (?1, ?2, ?3, 'authorization.approved', 'authorization', ?4, NULL, ?5, ?6)");
    auditInsert = prepare(
        "INSERT INTO audit_log (id, tenant_id, sequence, actor, action, object_type, object_id, request_id, idempotency_key, context, created_at,"
        " previous_hash, hash) VALUES (?1, ?2, ?3, 'key_floor', 'authorization.decided', 'authorization', ?4, ?5, NULL, ?6, ?7, ?8, ?8)");
    head = prepare("UPDATE tenants SET event_sequence = event_sequence + ?2, audit_sequence = audit_sequence + ?2 WHERE id = ?1"
                   " RETURNING event_sequence, audit_sequence, audit_head_hash");
    auditHead = prepare("UPDATE tenants SET audit_head_hash = ?2 WHERE id = ?1");
}

static const char *tenant = "ten_floor";
static long long sequence = 0;

/// One approved decision's rows (the card state is updated by the caller, once per card).
static void writeDecision(long long n, const char *card, long long amount, long long now) {
    char auth[48], je[48], le1[48], le2[48], evt[48], aud[48], ref[48], req[48], la[48], lr[48];
    ident(auth, "auth", n), ident(je, "je", n), ident(le1, "led", n), ident(le2, "lec", n), ident(evt, "evt", n), ident(aud, "aud", n);
    ident(req, "req", n), snprintf(ref, sizeof ref, "ref-%lld", (n * 7919) % 1000000007LL);
    snprintf(la, sizeof la, "lacct_a%s", card + 5), snprintf(lr, sizeof lr, "lacct_r%s", card + 5);
    text(authInsert, 1, auth), text(authInsert, 2, tenant), text(authInsert, 3, card), integer(authInsert, 4, amount);
    text(authInsert, 5, merchant), text(authInsert, 6, ref), text(authInsert, 7, je), integer(authInsert, 8, now + 604800000000LL);
    integer(authInsert, 9, 1000000), integer(authInsert, 10, now), run(authInsert);
    text(journalInsert, 1, je), text(journalInsert, 2, tenant), integer(journalInsert, 3, now), run(journalInsert);
    text(lineInsert, 1, le1), text(lineInsert, 2, tenant), text(lineInsert, 3, je), text(lineInsert, 4, la), text(lineInsert, 5, "debit");
    integer(lineInsert, 6, amount), integer(lineInsert, 7, now), text(lineInsert, 8, card), run(lineInsert);
    text(lineInsert, 1, le2), text(lineInsert, 2, tenant), text(lineInsert, 3, je), text(lineInsert, 4, lr), text(lineInsert, 5, "credit");
    integer(lineInsert, 6, amount), integer(lineInsert, 7, now), text(lineInsert, 8, card), run(lineInsert);
    sequence++;
    text(eventInsert, 1, evt), text(eventInsert, 2, tenant), integer(eventInsert, 3, sequence), text(eventInsert, 4, auth);
    text(eventInsert, 5, req), integer(eventInsert, 6, now), run(eventInsert);
    text(auditInsert, 1, aud), text(auditInsert, 2, tenant), integer(auditInsert, 3, sequence), text(auditInsert, 4, auth);
    text(auditInsert, 5, req), text(auditInsert, 6, auditContext), integer(auditInsert, 7, now), text(auditInsert, 8, hash), run(auditInsert);
}

static void updateState(const char *card, long long amount) {
    text(stateUpdate, 1, card), text(stateUpdate, 2, tenant), integer(stateUpdate, 3, amount), run(stateUpdate);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: sqlite_narrow_floor DIRECTORY CARDS EARLIER DECISIONS PER_COMMIT [PAGE_SIZE]\n");
        return 2;
    }
    int cards = atoi(argv[2]), earlier = atoi(argv[3]), decisions = atoi(argv[4]), perCommit = atoi(argv[5]);
    int pageSize = argc > 6 ? atoi(argv[6]) : 4096;
    snprintf(path, sizeof path, "%s/narrow-%d-%d-%d.sqlite", argv[1], pageSize, cards, earlier);
    int reuse = getenv("KEEP") && access(path, F_OK) == 0;
    if (!reuse) unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK) fail("open");
    char pragma[128];
    snprintf(pragma, sizeof pragma, "PRAGMA page_size = %d", pageSize);
    exec(pragma);
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-32768;"
         "PRAGMA wal_autocheckpoint=20000; PRAGMA temp_store=MEMORY");
    char (*cardIDs)[48] = malloc((size_t)cards * 48);
    for (int c = 0; c < cards; c++) ident(cardIDs[c], "card", c);
    long long now = 1795479138688199LL, n = 0;
    unsigned seed = (unsigned)time(NULL);
    if (reuse) {
        prepareAll();
        sqlite3_stmt *last = prepare("SELECT event_sequence FROM tenants");
        if (sqlite3_step(last) != SQLITE_ROW) fail("no tenant");
        n = sequence = sqlite3_column_int64(last, 0);
        sqlite3_finalize(last);
    } else {
        exec(schema);
        // A variant: statements run on the new schema before the fill (dropping an index, say).
        if (getenv("FLOOR_VARIANT")) exec(getenv("FLOOR_VARIANT"));
        prepareAll();
        // Fill: cards, then earlier decisions in time order, fast (no sync), as a history to write beside.
        double fillStarted = seconds();
        exec("BEGIN");
        exec("INSERT INTO tenants VALUES ('ten_floor', 'UTC', 0, 0, 'genesis')");
        sqlite3_stmt *stateInsert = prepare("INSERT INTO card_state VALUES (?, 'ten_floor', 1, 0, 100000000000, 0, 0, 0, 0, 0, 0, 0, 0, 0)");
        for (int c = 0; c < cards; c++) text(stateInsert, 1, cardIDs[c]), run(stateInsert);
        for (; n < earlier; n++) {
            const char *card = cardIDs[rand_r(&seed) % cards];
            writeDecision(n, card, 100 + n % 900, now + n);
            updateState(card, 100 + n % 900);
            if (n % 100000 == 99999) exec("COMMIT; BEGIN");
        }
        exec("UPDATE tenants SET event_sequence = (SELECT count(*) FROM events)");
        exec("COMMIT");
        exec("PRAGMA wal_checkpoint(TRUNCATE)");
        printf("sqlite narrow floor: page size %d, filled %d cards and %d earlier decisions in %.0f s\n", pageSize, cards, earlier,
               seconds() - fillStarted);
    }
    exec("PRAGMA synchronous=FULL");

    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE"), *commit = prepare("COMMIT");
    pthread_t thread;
    pthread_create(&thread, NULL, checkpointer, NULL);
    int *batchCards = malloc(sizeof(int) * perCommit);
    double started = seconds(), cpuStarted = cpuSeconds();
    long long writtenBefore = writtenBytes();
    long long end = n + decisions;
    while (n < end) {
        run(begin);
        text(tenantRead, 1, tenant), run(tenantRead);
        int batch = 0;
        for (; batch < perCommit && n + batch < end; batch++) {
            batchCards[batch] = rand_r(&seed) % cards;
            text(stateRead, 1, cardIDs[batchCards[batch]]), text(stateRead, 2, tenant), run(stateRead);
            char ref[48];
            snprintf(ref, sizeof ref, "ref-%lld", ((n + batch) * 7919) % 1000000007LL);
            text(probe, 1, tenant), text(probe, 2, ref);
            if (run(probe) != 0) fail("unexpected replay");
        }
        text(head, 1, tenant), integer(head, 2, batch), run(head);
        for (int b = 0; b < batch; b++, n++) {
            writeDecision(n, cardIDs[batchCards[b]], 100 + n % 900, now + n);
            updateState(cardIDs[batchCards[b]], 100 + n % 900);
        }
        text(auditHead, 1, tenant), text(auditHead, 2, hash), run(auditHead);
        run(commit);
    }
    double elapsed = seconds() - started, cpu = cpuSeconds() - cpuStarted;
    finished = 1;
    pthread_join(thread, NULL);
    long long written = writtenBytes() - writtenBefore;
    printf("sqlite narrow floor: %d decisions, %d per commit: %.0f decisions/s, %.0f us wall and %.0f us CPU each, %.1f KiB written each\n",
           decisions, perCommit, decisions / elapsed, elapsed / decisions * 1e6, cpu / decisions * 1e6, written / 1024.0 / decisions);
    return 0;
}
