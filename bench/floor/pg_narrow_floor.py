#!/usr/bin/env python3
"""The PostgreSQL ceiling of the narrow decision model, measured before building it: what
PostgreSQL alone costs for approved decisions written set-based, driven by pgbench with prepared
statements: no HTTP, no JSON, no Swift. Self-contained: it makes schema `floor` in the database
with CARDS cards and EARLIER earlier decisions, then each pgbench transaction is one group commit of
PER_COMMIT decisions over random cards:

  the batch's card state rows locked in id order (one statement), the network references probed
  (one), the tenant head's numbers reserved (one), then one statement that writes every table at
  once from arrays (`unnest`): the narrow authorization rows, journal entries, their lines, the
  card state's one update per card, the events (no body) and the audit records; COMMIT.

With --one-statement, the shape the server sends today (no transaction: one statement that locks the
tenant's head row, writes every table and commits alone), and with --rate R, pgbench's open loop:
R statements a second on schedule, its latency counted from each one's scheduled start (so a
statement that waits for the one before it counts the wait, as a batch does in the server), printed
as p50 and p99: the database's part of a decision's latency at that rate, with nothing else running.

Usage: pg_narrow_floor.py DATABASE_URL CARDS EARLIER PER_COMMIT CLIENTS SECONDS [--keep] [--one-statement] [--rate R]
  --keep reuses a filled schema of the same size.
"""
import os
import re
import subprocess
import sys
import tempfile

url = sys.argv[1]
cards, earlier, per_commit, clients, duration = (int(v) for v in sys.argv[2:7])
keep = "--keep" in sys.argv
one_statement = "--one-statement" in sys.argv
rate = int(sys.argv[sys.argv.index("--rate") + 1]) if "--rate" in sys.argv else None
env = dict(os.environ, PGOPTIONS="-c search_path=floor")


def psql(sql):
    run = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], capture_output=True, text=True, env=env)
    if run.returncode != 0:
        sys.exit(f"psql failed: {run.stderr.strip()}\n{sql[:300]}")
    return run.stdout.strip()


SCHEMA = """
DROP SCHEMA IF EXISTS floor CASCADE;
CREATE SCHEMA floor;
SET search_path = floor;
CREATE TABLE tenants (id TEXT PRIMARY KEY, time_zone TEXT NOT NULL, event_sequence BIGINT NOT NULL, audit_sequence BIGINT NOT NULL,
  audit_head_hash TEXT NOT NULL) WITH (fillfactor = 50);
CREATE TABLE card_state (card_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, version BIGINT NOT NULL,
  available_debits BIGINT NOT NULL, available_credits BIGINT NOT NULL, reserved_debits BIGINT NOT NULL, reserved_credits BIGINT NOT NULL,
  day_key BIGINT NOT NULL, day_minor BIGINT NOT NULL, week_key BIGINT NOT NULL, week_minor BIGINT NOT NULL,
  month_key BIGINT NOT NULL, month_minor BIGINT NOT NULL, lifetime_minor BIGINT NOT NULL) WITH (fillfactor = 70);
CREATE TABLE authorizations (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, card_id TEXT NOT NULL, card_version BIGINT NOT NULL,
  status TEXT NOT NULL, amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, channel TEXT NOT NULL, merchant TEXT NOT NULL,
  device_location TEXT, network_reference TEXT NOT NULL, decline_reason TEXT, response_code TEXT NOT NULL, rules TEXT NOT NULL,
  hold_amount_minor BIGINT, hold_status TEXT, hold_journal_entry_id TEXT, expires_at BIGINT, available_before_minor BIGINT NOT NULL,
  spend_before TEXT NOT NULL, utc_offset_seconds BIGINT NOT NULL, time_zone TEXT NOT NULL, received_at BIGINT NOT NULL,
  customer_decision TEXT, review TEXT, adjustments TEXT, policy_version BIGINT NOT NULL, created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL) WITH (fillfactor = 90);
CREATE UNIQUE INDEX authorizations_by_reference ON authorizations (tenant_id, network_reference);
CREATE INDEX authorizations_by_tenant ON authorizations (tenant_id, created_at, id);
CREATE INDEX authorizations_by_card ON authorizations (tenant_id, card_id, created_at, id);
CREATE INDEX authorizations_in_review ON authorizations (tenant_id, created_at, id) WHERE status = 'review';
CREATE INDEX authorizations_holds_by_expiry ON authorizations (expires_at) WHERE hold_status = 'held';
CREATE TABLE journal_entries (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, description TEXT NOT NULL, intent_id TEXT,
  created_at BIGINT NOT NULL);
CREATE TABLE ledger_entries (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, journal_entry_id TEXT NOT NULL,
  ledger_account_id TEXT NOT NULL, owner_id TEXT NOT NULL, direction TEXT NOT NULL, amount_minor BIGINT NOT NULL,
  currency TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX ledger_entries_by_owner ON ledger_entries (tenant_id, owner_id, created_at, id);
CREATE INDEX ledger_entries_by_journal ON ledger_entries (journal_entry_id);
CREATE TABLE events (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sequence BIGINT NOT NULL, type TEXT NOT NULL,
  object_type TEXT NOT NULL, object_id TEXT NOT NULL, data TEXT, request_id TEXT, created_at BIGINT NOT NULL, UNIQUE (tenant_id, sequence));
CREATE INDEX events_by_object ON events (tenant_id, object_id, sequence);
CREATE TABLE audit_log (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sequence BIGINT NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, object_type TEXT NOT NULL, object_id TEXT NOT NULL, request_id TEXT, idempotency_key TEXT,
  context TEXT NOT NULL, created_at BIGINT NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (tenant_id, sequence));
CREATE INDEX audit_log_by_object ON audit_log (tenant_id, object_id, sequence);
INSERT INTO tenants VALUES ('ten_floor', 'UTC', 0, 0, 'genesis');
"""

MERCHANT = '{"city":"Austin","country":"US","id":"m_bench","mcc":"5411","name":"Bench Store"}'
CONTEXT = ('{"amount_minor":375,"card":"card_000000000001000000","deciding_rule":null,"decline_reason":null,'
           '"hold_journal_entry":"je_000000000001000000","response_code":"00","status":"approved"}')
# pgbench reads ":name" as a variable, even in a literal: no colon of the JSON is followed by a name.
MERCHANT, CONTEXT = (text.replace('":', '": ') for text in (MERCHANT, CONTEXT))
HASH = "82264b32620604d26c3754a859a3dd43c303362c04b3f2f2e2afc9ceb4d23555"


def fill():
    psql(SCHEMA)
    psql(f"INSERT INTO card_state SELECT 'card_' || lpad(n::text, 8, '0'), 'ten_floor', 1, 0, 100000000000, 0, 0, 0, 0, 0, 0, 0, 0, 0 "
         f"FROM generate_series(1, {cards}) n")
    # Earlier decisions in chunks, each with its journal entry, two lines, event and audit record.
    step = 200_000
    for start in range(1, earlier + 1, step):
        end = min(earlier, start + step - 1)
        psql(f"""
        CREATE TEMP TABLE d AS SELECT n, 'card_' || lpad((1 + (n * 7919) % {cards})::text, 8, '0') AS card,
          lpad(n::text, 12, '0') AS k, 100 + n % 900 AS amount FROM generate_series({start}::bigint, {end}::bigint) n;
        INSERT INTO authorizations SELECT 'auth_' || k, 'ten_floor', card, 1, 'approved', amount, 'USD', 'online', '{MERCHANT}', NULL,
          'early-' || k, NULL, '00', 'ppppppppppppnp', amount, 'held', 'je_' || k, 1796083938688199 + n, 1000000, '[0,0,0,0]', 0, 'UTC',
          1795479138688199 + n, NULL, NULL, NULL, 1, 1795479138688199 + n, 1795479138688199 + n FROM d;
        INSERT INTO journal_entries SELECT 'je_' || k, 'ten_floor', 'hold', NULL, 1795479138688199 + n FROM d;
        INSERT INTO ledger_entries SELECT 'led_' || k, 'ten_floor', 'je_' || k, 'lacct_a' || card, card, 'debit', amount, 'USD',
          1795479138688199 + n FROM d;
        INSERT INTO ledger_entries SELECT 'lec_' || k, 'ten_floor', 'je_' || k, 'lacct_r' || card, card, 'credit', amount, 'USD',
          1795479138688199 + n FROM d;
        INSERT INTO events SELECT 'evt_' || k, 'ten_floor', n, 'authorization.approved', 'authorization', 'auth_' || k, NULL, 'req_' || k,
          1795479138688199 + n FROM d;
        INSERT INTO audit_log SELECT 'aud_' || k, 'ten_floor', n, 'key_floor', 'authorization.decided', 'authorization', 'auth_' || k,
          'req_' || k, NULL, '{CONTEXT}', 1795479138688199 + n, '{HASH}', '{HASH}' FROM d;
        """)
    psql(f"UPDATE tenants SET event_sequence = {earlier}, audit_sequence = {earlier}")
    psql("VACUUM ANALYZE")


filled = psql(f"SELECT count(*) FROM pg_namespace WHERE nspname = 'floor'") == "1" and \
    psql("SELECT (SELECT count(*) FROM card_state) || '/' || (SELECT count(*) FROM authorizations WHERE network_reference LIKE 'early-%')") \
    == f"{cards}/{earlier}"
if not (keep and filled):
    fill()


def writes(events_after, audits_after, head=""):
    """The statement that writes every table at once from the batch `d` (and, in one statement, the
    head row `h`): the new rows numbered after `events_after` and `audits_after`."""
    return f"""a AS (INSERT INTO authorizations SELECT 'auth_' || k, 'ten_floor', card, 1, 'approved', amount, 'USD', 'online', '{MERCHANT}', NULL,
  'ref-' || k, NULL, '00', 'ppppppppppppnp', amount, 'held', 'je_' || k, 1796083938688199, 1000000, '[0,0,0,0]', 0, 'UTC',
  1795479138688199, NULL, NULL, NULL, 1, 1795479138688199, 1795479138688199 FROM d),
j AS (INSERT INTO journal_entries SELECT 'je_' || k, 'ten_floor', 'hold', NULL, 1795479138688199 FROM d),
l AS (INSERT INTO ledger_entries SELECT 'le' || side || '_' || k, 'ten_floor', 'je_' || k, 'lacct_' || side || card, card,
  CASE side WHEN 'a' THEN 'debit' ELSE 'credit' END, amount, 'USD', 1795479138688199 FROM d, (VALUES ('a'), ('r')) AS s(side)),
s AS (UPDATE card_state c SET available_debits = c.available_debits + v.total, reserved_credits = c.reserved_credits + v.total,
  day_key = 20781, day_minor = c.day_minor + v.total, week_key = 20780, week_minor = c.week_minor + v.total, month_key = 24322,
  month_minor = c.month_minor + v.total, lifetime_minor = c.lifetime_minor + v.total
  FROM (SELECT card, sum(amount) AS total FROM d GROUP BY card) v WHERE c.card_id = v.card AND c.tenant_id = 'ten_floor'),
e AS (INSERT INTO events SELECT 'evt_' || k, 'ten_floor', {events_after} - {per_commit} + i, 'authorization.approved', 'authorization',
  'auth_' || k, NULL, 'req_' || k, 1795479138688199 FROM d{head})
INSERT INTO audit_log SELECT 'aud_' || k, 'ten_floor', {audits_after} - {per_commit} + i, 'key_floor', 'authorization.decided',
  'authorization', 'auth_' || k, 'req_' || k, NULL, '{CONTEXT}', 1795479138688199, '{HASH}', '{HASH}' FROM d{head};
"""


# One pgbench transaction is one group commit. The client's part (random cards, new ids) is done in
# SQL so that every statement is one prepared statement whatever the batch; the arrays are what the
# server would bind.
script = f"""\\set seed random(1, 1000000000000)
BEGIN;
SELECT array_agg('card_' || lpad((1 + floor(random() * {cards}))::int::text, 8, '0')) AS cards,
       array_agg(lpad(:seed::text, 13, '0') || lpad(g::text, 4, '0')) AS keys,
       array_agg(100 + (random() * 899)::int) AS amounts FROM generate_series(1, {per_commit}) g \\gset
SELECT count(*) AS locked, sum(available_credits - available_debits) AS funds FROM (SELECT * FROM card_state
  WHERE card_id = ANY(:cards::text[]) AND tenant_id = 'ten_floor' ORDER BY card_id FOR UPDATE) s \\gset
SELECT count(*) AS replays FROM authorizations WHERE tenant_id = 'ten_floor' AND network_reference = ANY(
  ARRAY(SELECT 'ref-' || k FROM unnest(:keys::text[]) k)) \\gset
UPDATE tenants SET event_sequence = event_sequence + {per_commit}, audit_sequence = audit_sequence + {per_commit}
  WHERE id = 'ten_floor' RETURNING event_sequence AS es, audit_sequence AS aus, audit_head_hash AS ah \\gset
WITH d AS (SELECT * FROM unnest(:cards::text[], :keys::text[], :amounts::bigint[]) WITH ORDINALITY AS d(card, k, amount, i)),
{writes(":es::bigint", ":aus::bigint")}UPDATE tenants SET audit_head_hash = '{HASH}' WHERE id = 'ten_floor';
COMMIT;
"""
# Today's shape: the batch's rows made in the statement itself, the head row locked and moved on in
# it, and no transaction around it.
one = f"""\\set seed random(1, 1000000000000)
WITH d AS MATERIALIZED (SELECT 'card_' || lpad((1 + floor(random() * {cards}))::int::text, 8, '0') AS card,
  lpad(:seed::text, 13, '0') || lpad(g::text, 4, '0') AS k, 100 + (random() * 899)::int AS amount, g AS i
  FROM generate_series(1, {per_commit}) g),
h AS (UPDATE tenants SET event_sequence = event_sequence + {per_commit}, audit_sequence = audit_sequence + {per_commit},
  audit_head_hash = '{HASH}' WHERE id = 'ten_floor' RETURNING event_sequence AS es, audit_sequence AS aus),
{writes("h.es", "h.aus", ", h")}"""
logs = tempfile.mkdtemp()
with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
    file.write(one if one_statement else script)
try:
    open_loop = ["-R", str(rate), "-l", "--log-prefix", os.path.join(logs, "tx")] if rate else []
    run = subprocess.run(["pgbench", "-n", "-M", "prepared", "-f", file.name, "-c", str(clients), "-j", str(min(clients, 2)),
                          "-T", str(duration), *open_loop, url], capture_output=True, text=True, env=env)
    # Each logged line: client, transaction, latency from its scheduled start (µs), script, epoch s, µs, lag.
    latencies = sorted(int(line.split()[2]) for name in os.listdir(logs) for line in open(os.path.join(logs, name)))
finally:
    os.unlink(file.name)
    for name in os.listdir(logs):
        os.unlink(os.path.join(logs, name))
    os.rmdir(logs)
tps = re.search(r"^tps = ([0-9.]+)", run.stdout, re.M)
failed = re.search(r"number of failed transactions: ([0-9]+)", run.stdout)
if run.returncode != 0 or not tps:
    sys.exit(f"pgbench failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
shape = "one statement" if one_statement else "transaction"
print(f"postgres narrow floor ({shape}): {cards} cards, {earlier} earlier, {per_commit} decisions per commit, {clients} connections, {duration} s: "
      f"{float(tps.group(1)) * per_commit:.0f} decisions/s ({float(tps.group(1)):.0f} commits/s, failed {failed.group(1) if failed else '?'})"
      + (f"; open loop at {rate}/s: p50 {latencies[len(latencies) // 2] / 1000:.2f} ms, p99 {latencies[int(len(latencies) * 0.99)] / 1000:.2f} ms"
         if rate and latencies else ""))
