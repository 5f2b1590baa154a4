"""The worst day: the server killed mid-load (and PostgreSQL with it), the database gone mid-load.
Nothing acknowledged is lost, replays answer what was acknowledged and change nothing, nothing is
half-written, and the server recovers by itself."""
import json
import os
import random
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import Server, call, free_port, wait_until, zentra

# A fixed seed per run, printed on failure, so a failing moment can be replayed.
# The load is far above the default rate limit, which is not what these tests are about.
UNLIMITED = {"ZENTRA_RATE_LIMIT": "0"}

SEED = int(os.environ.get("ZENTRA_RELIABILITY_SEED", "0")) or random.randrange(1, 1 << 30)


class Fixture:
    """A tenant with a network key, a funded account and funded cards."""

    def __init__(self, server, database):
        self.database = database
        tenant = json.loads(zentra("tenant", "create", "acme", "--database", database).stdout)
        self.tenant, self.admin = tenant["tenant"], tenant["api_key"]
        port = server.port
        self.network = self.post(port, "/api-keys", {"role": "network"})["api_key"]
        program = self.post(port, "/card-programs", {"name": "Plain", "currency": "USD", "bin": "424242"})["id"]
        customer = self.post(port, "/customers", {"name": "Ada", "email": "ada@example.com", "kyc_status": "verified"})["id"]
        self.account = self.post(port, "/accounts", {"customer": customer, "currency": "USD"})["id"]
        self.post(port, f"/accounts/{self.account}/deposits", {"amount_minor": 10_000_000, "transaction_reference": "seed"})
        self.cards = []
        for _ in range(4):
            card = self.post(port, "/cards", {"customer": customer, "account": self.account, "program": program, "type": "virtual"})["id"]
            self.post(port, f"/cards/{card}/fund", {"amount_minor": 1_000_000, "transaction_reference": str(uuid.uuid4())})
            self.cards.append(card)

    def post(self, port, path, body):
        status, _, answer = call(port, "POST", path, body, self.admin)
        assert status == 201, (path, answer)
        return answer


def deposit(fixture, rng):
    key = str(uuid.uuid4())
    return ("deposit", f"/accounts/{fixture.account}/deposits",
            {"amount_minor": rng.randrange(1, 500), "transaction_reference": key}, fixture.admin, {"Idempotency-Key": key})


def authorization(fixture, rng):
    return ("authorization", "/authorizations", {
        "card": rng.choice(fixture.cards), "amount_minor": rng.randrange(1, 300), "currency": "USD", "channel": "online",
        "merchant": {"id": "m_1", "name": "Shop", "mcc": "5411", "country": "US"},
        "network_reference": str(uuid.uuid4())}, fixture.network, {})


class Load:
    """Clients posting deposits and authorizations until stopped; keeps every acknowledged answer and
    every status seen."""

    def __init__(self, fixture, port, clients=8):
        self.fixture, self.port = fixture, port
        self.acknowledged, self.statuses, self.lock = [], [], threading.Lock()
        self.stopped = threading.Event()
        # Daemons, so that a failing test never leaves the run waiting on its clients.
        self.threads = [threading.Thread(target=self.client, args=(SEED + i,), daemon=True) for i in range(clients)]
        for thread in self.threads:
            thread.start()

    def client(self, seed):
        rng = random.Random(seed)
        while not self.stopped.is_set():
            request = (deposit if rng.random() < 0.4 else authorization)(self.fixture, rng)
            kind, path, body, key, headers = request
            try:
                status, response_headers, answer = call(self.port, "POST", path, body, key, headers)
            except OSError:
                time.sleep(0.01)
                continue
            with self.lock:
                self.statuses.append((status, response_headers.get("Retry-After"), answer))
                if status == 201:
                    self.acknowledged.append((request, answer))

    def stop(self):
        self.stopped.set()
        for thread in self.threads:
            thread.join()


def balances(port, fixture):
    _, _, account = call(port, "GET", f"/accounts/{fixture.account}", key=fixture.admin)
    cards = [call(port, "GET", f"/cards/{card}", key=fixture.admin)[2] for card in fixture.cards]
    return (account["available_minor"], account["reserved_minor"], account["posted_minor"],
            [(card["held_minor"], card["available_minor"]) for card in cards])


def check_everything_acknowledged_is_there(port, fixture, acknowledged):
    """Each acknowledged write replays to the same answer, and the replays change nothing."""
    assert acknowledged, "the load acknowledged nothing before the crash"
    before = balances(port, fixture)
    for (kind, path, body, key, headers), answer in acknowledged:
        status, response_headers, replayed = call(port, "POST", path, body, key, headers)
        assert status == 201, (kind, replayed)
        assert replayed["id"] == answer["id"], (kind, answer, replayed)
        if kind == "authorization":
            assert replayed["status"] == answer["status"]
            status, _, stored = call(port, "GET", f"/authorizations/{answer['id']}", key=fixture.admin)
            assert status == 200 and stored["status"] == answer["status"]
        else:
            assert response_headers.get("Idempotent-Replayed") == "true"
    assert balances(port, fixture) == before, "replays changed a balance"


def verify_books(database, tenant):
    ledger = json.loads(zentra("ledger", "verify", "--database", database).stdout)
    assert ledger["ok"] is True, ledger
    audit = zentra("audit", "verify", "--tenant", tenant, "--database", database, check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr


def crash_mid_load(database, kill_database=None, restart_database=None):
    server = Server(database, env=UNLIMITED)
    try:
        fixture = Fixture(server, database)
        load = Load(fixture, server.port)
        # A seeded amount of acknowledged work before the kill, however fast the machine is.
        acknowledged = random.Random(SEED).randint(20, 200)
        wait_until(f"{acknowledged} writes are acknowledged", lambda: len(load.acknowledged) >= acknowledged)
        server.process.kill()
        if kill_database:
            kill_database()
        server.process.wait()
        load.stop()
        if restart_database:
            restart_database()
        print(f"acknowledged before the kill: {len(load.acknowledged)} of {len(load.statuses)} answered")
        restarted = Server(database, port=server.port, env=UNLIMITED)
        try:
            check_everything_acknowledged_is_there(restarted.port, fixture, load.acknowledged)
        finally:
            assert restarted.stop() == 0
        verify_books(database, fixture.tenant)
    finally:
        server.stop()


def test_sigkill_mid_load_loses_nothing_acknowledged_on_sqlite(sqlite_url):
    print(f"seed {SEED}")
    crash_mid_load(sqlite_url)


def test_sigkill_of_server_and_postgres_mid_load_loses_nothing_acknowledged(postgres):
    print(f"seed {SEED}")
    crash_mid_load(postgres.url,
                   kill_database=lambda: postgres.run("pg_ctl", "-D", f"{postgres.dir}/data", "-m", "immediate", "-w", "stop"),
                   restart_database=postgres.start)


def test_postgres_outage_answers_503_and_recovers_by_itself(postgres):
    print(f"seed {SEED}")
    server = Server(postgres.url, env=UNLIMITED)
    try:
        fixture = Fixture(server, postgres.url)
        load = Load(fixture, server.port, clients=4)
        wait_until("the load is acknowledged", lambda: len(load.acknowledged) >= 20)
        postgres.run("pg_ctl", "-D", f"{postgres.dir}/data", "-m", "fast", "-w", "stop")
        wait_until("the load meets the outage", lambda: any(s[0] == 503 for s in list(load.statuses)))
        with load.lock:
            seen = len(load.statuses)
        status, headers, body = call(server.port, "POST", "/customers", {"name": "Bo", "email": "bo@example.com"}, fixture.admin)
        assert status == 503 and headers.get("Retry-After") and body["error"]["code"] == "service_unavailable", body
        assert call(server.port, "GET", "/healthz")[0] == 200, "the process lives"
        assert call(server.port, "GET", "/readyz")[0] == 503
        postgres.start()
        deadline = time.time() + 30
        while call(server.port, "GET", "/readyz")[0] != 200:
            assert time.time() < deadline, "did not recover"
            time.sleep(0.2)
        wait_until("a write succeeds after recovery", lambda: any(s[0] == 201 for s in list(load.statuses)[seen:]))
        load.stop()
        failures = [(status, retry, answer) for status, retry, answer in load.statuses if status not in (201, 402)]
        print(f"outage: {len(failures)} answers 503 with Retry-After, {len(load.acknowledged)} acknowledged")
        assert failures, "the outage was never seen by the load"
        for status, retry, answer in failures:
            assert status == 503 and retry, (status, answer)
        check_everything_acknowledged_is_there(server.port, fixture, load.acknowledged)
    finally:
        assert server.stop() == 0
    verify_books(postgres.url, fixture.tenant)


def test_sqlite_disk_full_answers_503_and_recovers_after_space_is_freed(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        database = f"sqlite://{mount}/zentra.sqlite"
        server = Server(database, env=UNLIMITED)
        try:
            fixture = Fixture(server, database)
            ballast = mount / "ballast"
            # Unbuffered: a write refused for space leaves nothing for close() to flush (and fail on).
            with open(ballast, "wb", buffering=0) as file:
                try:
                    while True:
                        file.write(b"\0" * 65536)
                except OSError:
                    pass
            load = Load(fixture, server.port, clients=2)
            wait_until("the full disk refuses a write", lambda: any(s[0] not in (201, 402) for s in list(load.statuses)))
            with load.lock:
                refused = [s for s in load.statuses if s[0] not in (201, 402)]
            for status, retry, answer in refused:
                assert status == 503 and retry, (status, answer)
            print(f"disk full: {len(refused)} answers 503 with Retry-After")
            ballast.unlink()
            deadline = time.time() + 30
            while True:
                with load.lock:
                    recent = load.statuses[-20:]
                if sum(1 for s in recent if s[0] == 201) >= 10:
                    break
                if time.time() >= deadline:
                    free = os.statvfs(mount)
                    files = {f.name: f.stat().st_size for f in mount.iterdir()}
                    raise AssertionError(f"did not recover: {recent[-1]}; {free.f_bavail * free.f_frsize} bytes free, files {files}")
                time.sleep(0.2)
            load.stop()
            check_everything_acknowledged_is_there(server.port, fixture, load.acknowledged)
        finally:
            assert server.stop() == 0
        verify_books(database, fixture.tenant)
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_slow_and_idle_clients_are_disconnected(sqlite_url):
    """Half a header is not a way to hold a connection: the head must be complete within the header
    timeout of its first byte, even trickled a byte at a time, and an idle connection is closed after
    the idle timeout; meanwhile other clients are served."""
    import socket

    def closed_within(sock, seconds):
        sock.settimeout(seconds)
        try:
            while sock.recv(4096):
                pass
            return True
        except socket.timeout:
            return False
        except OSError:
            return True  # reset by the server

    # Timing to the millisecond is HeaderDeadlineTests' (on a channel whose clock the test moves);
    # here, that the settings reach the server. The idle timeout is far beyond any wait below, so
    # a connection that closes was closed by the header timeout, however slow the machine.
    server = Server(sqlite_url, env={"ZENTRA_HTTP_HEADER_TIMEOUT_MS": "500", "ZENTRA_HTTP_IDLE_TIMEOUT_MS": "600000"})
    try:
        held = []
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            held.append(sock)
        assert call(server.port, "GET", "/healthz")[0] == 200, "others are served while they wait"
        assert all(closed_within(sock, 60) for sock in held), "a half header held its connection"

        trickle = socket.create_connection(("127.0.0.1", server.port))
        cut = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000:
            try:
                trickle.sendall(bytes([byte]))
            except OSError:
                cut = True
                break
            time.sleep(0.05)
        assert cut or closed_within(trickle, 60), "a trickled header outlived its deadline"

        # Complete requests answered, the connection kept alive: the header timeout no longer applies.
        kept = socket.create_connection(("127.0.0.1", server.port))
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"200" in kept.recv(4096).split(b"\r\n")[0]
        assert not closed_within(kept, 2.0), "a kept-alive connection is not cut by the header timeout"
    finally:
        assert server.stop() == 0

    server = Server(sqlite_url, env={"ZENTRA_HTTP_IDLE_TIMEOUT_MS": "1000"})
    try:
        idle = socket.create_connection(("127.0.0.1", server.port))
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"200" in idle.recv(4096).split(b"\r\n")[0]
        assert closed_within(idle, 60), "an idle connection is closed"
    finally:
        assert server.stop() == 0
