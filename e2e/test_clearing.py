"""Clearing files through a real `zentra serve`: a chunked CSV upload is ingested as it streams,
every line is answered, a second send posts nothing, and `zentra ledger verify` checks the ledger
from its lines (and exits non-zero once a total is tampered with)."""
import http.client
import json
import sqlite3
import uuid

from conftest import Server, call, zentra
from test_authorizations import authorize, funded_card

HEADER = "clearing_id,authorization,network_reference,card,amount_minor,currency,merchant_id,merchant_name,mcc,country\n"


def send_file(port, key, file_id, lines, query=""):
    """POSTs the file with chunked transfer encoding, a few lines per chunk, as a network would stream it."""
    def chunks():
        yield HEADER.encode()
        batch = []
        for line in lines:
            batch.append(line)
            if len(batch) == 50:
                yield ("\n".join(batch) + "\n").encode()
                batch = []
        if batch:
            yield ("\n".join(batch) + "\n").encode()

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("POST", f"/clearing-files?file_id={file_id}{query}", body=chunks(), encode_chunked=True,
                       headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_streamed_clearing_file_and_ledger_verify(tmp_path, sqlite_url):
    server = Server(sqlite_url)
    try:
        admin = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)["api_key"]
        network = call(server.port, "POST", "/api-keys", {"role": "network"}, admin)[2]["api_key"]
        program = call(server.port, "POST", "/card-programs", {"name": "Plain", "currency": "USD", "bin": "424242"}, admin)[2]
        card = funded_card(server.port, admin, program["id"], 10_000_000)
        references = [str(uuid.uuid4()) for _ in range(200)]
        for reference in references:
            assert authorize(server.port, network, card, 1_000, reference)[2]["status"] == "approved"

        lines = [f"c-{i},,{reference},{card},{1_000 if i % 2 else 900},USD,m1,Shop,5411,US" for i, reference in enumerate(references)]
        lines += [f"u-{i},,,{card},{5_000 + i},USD,m2,Elsewhere,5999,US" for i in range(800)]
        lines.insert(10, f"bad,,,{card},ten,USD,m1,Shop,5411,US")
        status, run = send_file(server.port, network, "F-1", lines)
        assert status == 200, run
        assert run["counts"] == {"matched": 100, "mismatched": 100, "unmatched": 800, "duplicates": 0, "failed": 1}, run["counts"]
        assert [line["line"] for line in run["lines"]] == list(range(2, len(lines) + 2))
        assert run["lines"][10]["result"] == "failed" and "amount_minor" in run["lines"][10]["reason"]

        status, again = send_file(server.port, network, "F-1", lines, "&lines=none")
        assert status == 200 and again["counts"]["duplicates"] == 1_000 and again["replayed"] is True and again["lines"] == []
        state = call(server.port, "GET", f"/cards/{card}", key=admin)[2]
        assert state["held_minor"] == 0
        assert state["available_minor"] == 10_000_000 - 100 * 1_000 - 100 * 900 - sum(5_000 + i for i in range(800))

        verified = zentra("ledger", "verify", "--database", sqlite_url)
        assert json.loads(verified.stdout)["ok"] is True
    finally:
        assert server.stop() == 0

    with sqlite3.connect(sqlite_url.removeprefix("sqlite://")) as db:
        db.execute("UPDATE ledger_accounts SET debits_minor = debits_minor + 1 WHERE purpose = 'settlement'")
    broken = zentra("ledger", "verify", "--database", sqlite_url, check=False)
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert report["ok"] is False and len(report["tenants"][0]["account_mismatches"]) == 1


def test_concurrent_files_and_clearings_on_two_servers_never_deadlock_or_double_post(postgres):
    """Two servers on one PostgreSQL ingest two files over the same cards in opposite orders while
    single clearings run on those cards: every record is posted once, nothing answers 5xx, and the
    ledger checks out."""
    from concurrent.futures import ThreadPoolExecutor
    first, second = Server(postgres.url), Server(postgres.url)
    try:
        admin = json.loads(zentra("tenant", "create", "acme", "--database", postgres.url).stdout)["api_key"]
        network = call(first.port, "POST", "/api-keys", {"role": "network"}, admin)[2]["api_key"]
        program = call(first.port, "POST", "/card-programs", {"name": "Plain", "currency": "USD", "bin": "424242"}, admin)[2]
        cards = [funded_card(first.port, admin, program["id"], 1_000_000) for _ in range(6)]
        forward = [f"a-{i},,,{cards[i % 6]},{100 + i},USD,m1,Shop,5411,US" for i in range(300)]
        backward = [f"b-{i},,,{cards[5 - i % 6]},{100 + i},USD,m1,Shop,5411,US" for i in range(300)]

        def single(i):
            return call((first, second)[i % 2].port, "POST", "/clearings", {
                "clearing_id": f"s-{i}", "card": cards[i % 6], "amount_minor": 50, "currency": "USD",
                "merchant": {"id": "m1", "name": "Shop", "mcc": "5411", "country": "US"}}, network)[0]

        with ThreadPoolExecutor(max_workers=6) as pool:
            files = [pool.submit(send_file, first.port, network, "F-a", forward, "&lines=none"),
                     pool.submit(send_file, second.port, network, "F-b", backward, "&lines=none")]
            singles = list(pool.map(single, range(60)))
        for future in files:
            status, run = future.result()
            assert status == 200, run
            assert run["counts"]["unmatched"] == 300 and run["counts"]["failed"] == 0, run["counts"]
        assert singles == [201] * 60
        listed = call(first.port, "GET", "/clearings?limit=1", key=admin)[2]
        assert listed["has_more"] is True
        spent = sum(100 + i for i in range(300)) * 2 + 50 * 60
        available = sum(call(second.port, "GET", f"/cards/{card}", key=admin)[2]["available_minor"] for card in cards)
        assert available == 6 * 1_000_000 - spent
        assert json.loads(zentra("ledger", "verify", "--database", postgres.url).stdout)["ok"] is True
    finally:
        first.stop()
        second.stop()
