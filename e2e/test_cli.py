"""End-to-end: the zentra binary as an operator runs it."""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

from conftest import BINARY, Postgres, Server, call, free_port, wait_until, zentra


def test_tenant_and_key_creation_print_json_and_keys_work(sqlite_url):
    zentra("migrate", "--database", sqlite_url)
    tenant = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)
    assert tenant["tenant"].startswith("ten_") and tenant["api_key"]
    key = json.loads(zentra("key", "create", "--tenant", tenant["tenant"], "--role", "readonly",
                            "--database", sqlite_url).stdout)
    assert key["id"].startswith("key_") and key["api_key"] != tenant["api_key"]
    server = Server(sqlite_url)
    try:
        assert "listening on 127.0.0.1" in server.output()
        assert call(server.port, "GET", "/accounts", key=key["api_key"])[0] == 200
        status, _, body = call(server.port, "POST", "/customers", {"name": "A", "email": "a@example.com"}, key=key["api_key"])
        assert status == 403 and body["error"]["code"] == "forbidden"
    finally:
        assert server.stop() == 0


def test_commands_refuse_a_database_that_is_not_there(tmp_path):
    path = tmp_path / "elsewhere.sqlite"
    url = f"sqlite://{path}"
    for args in [("ledger", "verify"), ("tenant", "create", "acme")]:
        result = zentra(*args, "--database", url, check=False)
        assert result.returncode != 0 and "no database at" in result.stderr, result.stderr
    assert not path.exists(), "no empty database made on the spot, so no false all-clear"
    assert "applied migrations 1, 2," in zentra("migrate", "--database", url).stdout
    assert "migrations up to date" in zentra("migrate", "--database", url).stdout
    assert json.loads(zentra("ledger", "verify", "--database", url).stdout)["ok"] is True


def test_key_create_refuses_unknown_role_and_tenant(sqlite_url):
    zentra("migrate", "--database", sqlite_url)
    tenant = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)["tenant"]
    assert zentra("key", "create", "--tenant", tenant, "--role", "root", "--database", sqlite_url, check=False).returncode != 0
    missing = zentra("key", "create", "--tenant", "ten_nothere", "--role", "admin", "--database", sqlite_url, check=False)
    assert missing.returncode != 0 and "no such tenant" in missing.stderr


def test_audit_verify_exits_nonzero_when_the_chain_is_broken(tmp_path, sqlite_url):
    zentra("migrate", "--database", sqlite_url)
    tenant = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)
    server = Server(sqlite_url)
    try:
        for n in range(3):
            assert call(server.port, "POST", "/customers", {"name": f"C{n}", "email": f"c{n}@example.com"},
                        key=tenant["api_key"])[0] == 201
    finally:
        server.stop()
    ok = zentra("audit", "verify", "--tenant", tenant["tenant"], "--database", sqlite_url)
    assert json.loads(ok.stdout)["valid"] is True
    with sqlite3.connect(tmp_path / "zentra.sqlite") as db:
        db.execute("UPDATE audit_log SET action = 'customer.deleted' WHERE sequence = 2")
    broken = zentra("audit", "verify", "--tenant", tenant["tenant"], "--database", sqlite_url, check=False)
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["broken_at_sequence"] == 2


def test_sigterm_finishes_requests_in_flight(sqlite_url):
    zentra("migrate", "--database", sqlite_url)
    tenant = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)
    server = Server(sqlite_url)
    results = []

    def burst():
        for n in range(40):
            try:
                results.append(call(server.port, "POST", "/customers", {"name": f"C{n}", "email": f"c{n}@example.com"},
                                    key=tenant["api_key"])[0])
            except OSError:
                results.append("refused")

    worker = threading.Thread(target=burst)
    worker.start()
    wait_until("the burst is under way", lambda: len(results) >= 5)
    server.process.send_signal(signal.SIGTERM)
    worker.join()
    assert server.process.wait(timeout=20) == 0
    # Every request the server accepted was answered in full: no 5xx, no half-done writes.
    assert all(r == 201 or r == "refused" for r in results), results
    restarted = Server(sqlite_url)
    try:
        _, _, body = call(restarted.port, "GET", "/customers?limit=100", key=tenant["api_key"])
        assert len(body["data"]) == results.count(201)
        assert call(restarted.port, "GET", "/audit-log/verify", key=tenant["api_key"])[2]["valid"] is True
    finally:
        restarted.stop()


def test_unreachable_database_at_start_is_a_clear_error():
    url = f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    result = zentra("serve", "--port", str(free_port()), "--database", url, check=False, timeout=60)
    assert result.returncode != 0
    assert "cannot reach the database" in result.stderr
    assert zentra("migrate", "--database", url, check=False).returncode != 0
    bad = zentra("migrate", "--database", "mysql://nope", check=False)
    assert bad.returncode != 0 and "unsupported database URL" in bad.stderr


def test_background_services_start_after_the_migrations(sqlite_url, postgres, tmp_path):
    for url in [sqlite_url, postgres.url]:
        server = Server(url, extra=["--card-data-key-file", str(tmp_path / "card.key"), "--iso8583-port", str(free_port())])
        # One gate holds every background service until the migrations are applied (ZentraHTTPTests
        # checks the gate itself); the listener is the one that says in the log when it starts.
        wait_until("the ISO 8583 listener starts", lambda: "ISO 8583 listening" in server.output())
        assert server.stop() == 0
        log = server.output()
        assert log.index("migrations applied") < log.index("ISO 8583 listening"), log
        assert "no such table" not in log and "does not exist" not in log, log


def test_settings_out_of_range_stop_the_server_with_their_name(sqlite_url):
    for name, value in [("ZENTRA_IDEMPOTENCY_RETENTION_HOURS", "12"), ("ZENTRA_IDEMPOTENCY_RETENTION_HOURS", "a day")]:
        result = subprocess.run([str(BINARY), "serve", "--port", str(free_port()), "--database", sqlite_url],
                                capture_output=True, text=True, timeout=60, env={**os.environ, name: value})
        assert result.returncode != 0 and name in result.stderr, result.stderr


def test_postgres_lost_while_running_answers_503_and_recovers(postgres):
    tenant = json.loads(zentra("tenant", "create", "acme", "--database", postgres.url).stdout)
    server = Server(postgres.url)
    try:
        assert call(server.port, "GET", "/readyz")[0] == 200
        postgres.stop()
        status, headers, body = call(server.port, "GET", "/readyz")
        assert status == 503
        status, headers, body = call(server.port, "POST", "/customers", {"name": "A", "email": "a@example.com"},
                                     key=tenant["api_key"])
        assert status == 503 and body["error"]["code"] == "service_unavailable", body
        assert headers["Request-Id"]
        postgres.start()
        deadline = time.time() + 30
        while call(server.port, "GET", "/readyz")[0] != 200:
            assert time.time() < deadline, "did not recover"
            time.sleep(0.5)
        status, _, body = call(server.port, "POST", "/customers", {"name": "A", "email": "a@example.com"},
                               key=tenant["api_key"])
        assert status == 201, body
    finally:
        assert server.stop() == 0


def test_two_processes_share_one_postgres(postgres):
    tenant = json.loads(zentra("tenant", "create", "acme", "--database", postgres.url).stdout)
    first, second = Server(postgres.url), Server(postgres.url)
    try:
        key = tenant["api_key"]
        customer = call(first.port, "POST", "/customers", {"name": "A", "email": "a@example.com", "kyc_status": "verified"}, key=key)[2]
        account = call(second.port, "POST", "/accounts", {"customer": customer["id"], "currency": "EUR"}, key=key)[2]
        statuses = []

        def deposit(port, n):
            statuses.append(call(port, "POST", f"/accounts/{account['id']}/deposits",
                                 {"amount_minor": 250, "transaction_reference": "same"},
                                 key=key, headers={"Idempotency-Key": "one"})[0])

        threads = [threading.Thread(target=deposit, args=(first.port if n % 2 else second.port, n)) for n in range(20)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
        assert call(first.port, "GET", f"/accounts/{account['id']}", key=key)[2]["available_minor"] == 250
    finally:
        first.stop()
        second.stop()


def test_postgres_over_tls_honours_sslmode():
    cluster = Postgres(tls=True)
    try:
        url = cluster.url
        # The server takes TCP connections over TLS only: a plain one is refused.
        assert zentra("migrate", "--database", url + "?sslmode=disable", check=False).returncode != 0
        assert "applied migrations" in zentra("migrate", "--database", url + "?sslmode=require").stdout
        assert "up to date" in zentra("migrate", "--database", f"{url}?sslmode=verify-full&sslrootcert={cluster.certificate}").stdout
        # Its certificate is self-signed: checked against the system's CAs it is refused.
        assert zentra("migrate", "--database", url + "?sslmode=verify-full", check=False).returncode != 0
        bad = zentra("migrate", "--database", url + "?sslmode=sometimes", check=False)
        assert bad.returncode != 0 and "sslmode=sometimes" in bad.stderr
        server = Server(url + "?sslmode=require")
        try:
            status, _, ready = call(server.port, "GET", "/readyz")
            assert status == 200 and ready["database"] == "postgres", ready
        finally:
            assert server.stop() == 0
    finally:
        cluster.destroy()


def test_rate_limit_is_set_from_the_environment(sqlite_url):
    bad = subprocess.run([str(BINARY), "serve", "--port", str(free_port()), "--database", sqlite_url],
                         env={**os.environ, "ZENTRA_RATE_LIMIT": "fast"}, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "ZENTRA_RATE_LIMIT" in bad.stderr
    zentra("migrate", "--database", sqlite_url)
    tenant = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)
    server = Server(sqlite_url, env={"ZENTRA_RATE_LIMIT": "1"})
    try:
        answers = [call(server.port, "GET", "/customers", key=tenant["api_key"]) for _ in range(3)]
        assert [status for status, _, _ in answers] == [200, 200, 429], "a burst of twice the rate, then refused"
        status, headers, body = answers[2]
        assert body["error"]["code"] == "rate_limited" and body["error"]["request_id"]
        assert int(headers["Retry-After"]) >= 1
        assert headers["RateLimit-Policy"] == '"per-key";q=2;w=2' and headers["RateLimit"].startswith('"per-key";r=0;')
    finally:
        assert server.stop() == 0
