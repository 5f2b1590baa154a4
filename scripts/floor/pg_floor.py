#!/usr/bin/env python3
"""The PostgreSQL floor of an authorization: what PostgreSQL alone costs for the statements
`zentra serve` runs for approved decisions, driven by pgbench with prepared statements (parsed and
planned once per connection): no HTTP, no JSON, no Swift. Each pgbench transaction is one group
commit of PER_COMMIT decisions, as the server's: a savepoint per decision around the locked card
read with its replay check, the accounts locked and updated, the journal entry with its lines, the
counters with the authorization row; then the tenant head once, and every decision's event and
audit record. The rows carry the JSON of a real authorization, event and audit record read from
the same database, which `zentra bench authorizations` filled.

Usage: pg_floor.py DATABASE_URL PER_COMMIT CLIENTS SECONDS
"""
import os
import re
import subprocess
import sys
import tempfile

url, per_commit, clients, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


def query(sql):
    return subprocess.run(["psql", url, "-qAt", "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


def literal(text):
    # pgbench reads ":name" as a variable even inside a string literal, so no colon is followed by a letter.
    return "'" + re.sub(r':(?=[A-Za-z_])', ': ', text.replace("'", "''")) + "'"


tenant = query("SELECT tenant_id FROM cards GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1")
policy = literal(query("SELECT policy FROM authorizations WHERE status = 'approved' LIMIT 1"))
evidence = literal(query("SELECT evidence FROM authorizations WHERE status = 'approved' LIMIT 1"))
event = literal(query("SELECT data FROM events WHERE type = 'authorization.approved' LIMIT 1"))
audit = literal(query("SELECT context FROM audit_log WHERE action = 'authorization.decided' LIMIT 1"))
merchant = literal(query("SELECT merchant FROM authorizations LIMIT 1"))
# Card n (1...N) for pgbench's random(); a lookup inside the card read, by primary key.
query(f"""DROP TABLE IF EXISTS floor_cards;
CREATE TABLE floor_cards AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM cards WHERE tenant_id = '{tenant}';
CREATE UNIQUE INDEX ON floor_cards (n)""")
cards = int(query("SELECT count(*) FROM floor_cards"))

T = f"'{tenant}'"
script = ["BEGIN;"]
for i in range(per_commit):
    r = f":r{i}::text"
    script.append(f"""\\set c{i} random(1, {cards})
\\set r{i} random(1, 9000000000000000)
SAVEPOINT unit;
SELECT c.id AS cid, c.available_ledger_account_id AS cla, c.reserved_ledger_account_id AS clr, la.debits_minor AS la_debits, \
lr.credits_minor AS lr_credits, p.spend_controls AS psc, p.review_rules AS prr, p.review_outcome AS pro, t.time_zone AS ttz, \
(SELECT a.id FROM authorizations a WHERE a.tenant_id = {T} AND a.network_reference = 'floor-' || {r}) AS replay_id \
FROM cards c JOIN ledger_accounts la ON la.id = c.available_ledger_account_id JOIN ledger_accounts lr ON lr.id = c.reserved_ledger_account_id \
JOIN card_programs p ON p.id = c.program_id JOIN tenants t ON t.id = c.tenant_id \
WHERE c.tenant_id = {T} AND c.id = (SELECT id FROM floor_cards WHERE n = :c{i}::bigint) FOR UPDATE OF c, la, lr \\gset
SELECT id, debits_minor, credits_minor, currency, purpose FROM ledger_accounts WHERE tenant_id = {T} AND id IN (:cla::text, :clr::text) ORDER BY id FOR UPDATE;
UPDATE ledger_accounts SET debits_minor = v.debits, credits_minor = v.credits FROM (SELECT :cla::text AS id, 0 AS debits, 5000 AS credits \
UNION ALL SELECT :clr::text AS id, 5000 AS debits, 10000000000 AS credits) AS v WHERE ledger_accounts.tenant_id = {T} AND ledger_accounts.id = v.id;
WITH entry AS (INSERT INTO journal_entries (id, tenant_id, description, intent_id, created_at) VALUES ('je_floor' || {r}, {T}, 'hold', NULL, 1795479576521736)) \
INSERT INTO ledger_entries (id, tenant_id, journal_entry_id, ledger_account_id, direction, amount_minor, currency, created_at) \
VALUES ('le_floor_d' || {r}, {T}, 'je_floor' || {r}, :clr::text, 'debit', 198, 'USD', 1795479576521736), \
('le_floor_c' || {r}, {T}, 'je_floor' || {r}, :cla::text, 'credit', 198, 'USD', 1795479576521736);
WITH counters AS (UPDATE cards SET spend_day_key = 20781, spend_day_minor = spend_day_minor + 198, spend_week_key = 20780, \
spend_week_minor = spend_week_minor + 198, spend_month_key = 24322, spend_month_minor = spend_month_minor + 198, \
spend_lifetime_minor = spend_lifetime_minor + 198 WHERE tenant_id = {T} AND id = :cid::text) \
INSERT INTO authorizations (id, tenant_id, card_id, last4, status, amount_minor, currency, merchant, channel, device_location, \
network_reference, decline_reason, response_code, policy, hold_amount_minor, hold_status, hold_journal_entry_id, expires_at, \
available_minor, review, customer_decision, adjustments, window_day, window_week, window_month, evidence, created_at, updated_at) \
VALUES ('auth_floor' || {r}, {T}, :cid::text, '0139', 'approved', 198, 'USD', {merchant}, 'online', NULL, 'floor-' || {r}, NULL, '00', \
{policy}, 198, 'held', 'je_floor' || {r}, 1796083938688199, 9999994493, NULL, NULL, '[]', 20781, 20780, 24322, {evidence}, \
1795479576521736, 1795479576521736);
RELEASE unit;""")
script.append(f"UPDATE tenants SET event_sequence = event_sequence + {per_commit}, audit_sequence = audit_sequence + {per_commit} "
              f"WHERE id = {T} RETURNING event_sequence AS es, audit_sequence AS aus \\gset")
events = ", ".join(f"('evt_floor' || :r{i}::text, {T}, :es::bigint - {i}, 'authorization.approved', 'authorization', 'auth_floor' || :r{i}::text, "
                   f"{event}, 'req_floor', 1795479576521736)" for i in range(per_commit))
audits = ", ".join(f"('aud_floor' || :r{i}::text, {T}, :aus::bigint - {i}, 'key_floor', 'authorization.decided', 'authorization', "
                   f"'auth_floor' || :r{i}::text, 'req_floor', NULL, {audit}, 1795479576521736, 'previous', 'hash')" for i in range(per_commit))
script.append(f"WITH e AS (INSERT INTO events (id, tenant_id, sequence, type, object_type, object_id, data, request_id, created_at) VALUES {events}), "
              f"a AS (INSERT INTO audit_log (id, tenant_id, sequence, actor, action, object_type, object_id, request_id, idempotency_key, context, "
              f"created_at, previous_hash, hash) VALUES {audits}) UPDATE tenants SET audit_head_hash = 'head' || :r0::text WHERE id = {T};")
script.append("COMMIT;")

with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
    file.write("\n".join(script) + "\n")
try:
    run = subprocess.run(["pgbench", "-n", "-M", "prepared", "-f", file.name, "-c", str(clients), "-j", str(min(clients, 2)),
                          "-T", str(duration), url], capture_output=True, text=True)
finally:
    os.unlink(file.name)
tps = re.search(r"^tps = ([0-9.]+)", run.stdout, re.M)
failed = re.search(r"number of failed transactions: ([0-9]+)", run.stdout)
if run.returncode != 0 or not tps:
    sys.exit(f"pgbench failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
print(f"postgres floor: {per_commit} decisions per commit, {clients} connections, {duration} s: "
      f"{float(tps.group(1)) * per_commit:.0f} decisions/s ({float(tps.group(1)):.0f} commits/s, failed {failed.group(1) if failed else '?'})")
