"""End-to-end: a card network talks ISO 8583 to the built binary over a real socket, with a stock
client we did not write (pyiso8583, its `default_ascii` layout). The same engine as
`POST /authorizations` decides, holds, replays and reverses."""
import json
import os
import random
import socket
import struct
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import iso8583
import pytest
from iso8583.specs import default_ascii as SPEC

from conftest import BINARY, Server, call, free_port, zentra

ACQUIRER = "12345"


def frame(doc):
    raw, _ = iso8583.encode(dict(doc), SPEC)
    return struct.pack(">H", len(raw)) + bytes(raw)


def read_frame(sock):
    header = read_exactly(sock, 2)
    return read_exactly(sock, struct.unpack(">H", header)[0])


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def answer_of(raw):
    decoded, _ = iso8583.decode(bytearray(raw), SPEC)
    return decoded


class Link:
    """One TCP connection to the server's ISO 8583 port."""

    def __init__(self, port, receive_buffer=None):
        # The listener binds once the migrations are applied, just after HTTP answers: a network
        # connecting at that moment tries again, as networks do.
        deadline = time.time() + 15
        while True:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.settimeout(30)
            if receive_buffer:
                # Set before connecting: the window offered to the server follows it.
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            try:
                self.sock.connect(("127.0.0.1", port))
                break
            except ConnectionRefusedError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def ask(self, doc):
        self.sock.sendall(frame(doc))
        return answer_of(read_frame(self.sock))

    def close(self):
        self.sock.close()


class Network:
    """Builds messages as an acquirer's switch would, each with a fresh trace number and reference."""

    def __init__(self):
        self.trace = random.randint(1, 500_000)

    def next_ids(self):
        self.trace += 1
        return {"7": time.strftime("%m%d%H%M%S", time.gmtime()), "11": f"{self.trace:06d}", "37": f"RRN{self.trace:09d}"}

    def authorization(self, pan, expiry, amount, currency="840", mcc="5411", entry="051", **extra):
        doc = {"t": "0100", "2": pan, "3": "000000", "4": f"{amount:012d}", "14": expiry, "18": mcc, "22": entry,
               "32": ACQUIRER, "41": "TERM0001", "42": "MERCHANT0000001",
               "43": "Corner Shop".ljust(23) + "Springfield".ljust(13) + "IL" + "US", "49": currency, **self.next_ids()}
        doc.update(extra)
        return doc

    def reversal(self, original, mti="0400", remaining=None):
        doc = {"t": mti, "2": original["2"], "3": original["3"], "4": original["4"], "32": ACQUIRER, "37": original["37"],
               "49": original["49"], "90": "0100" + original["11"] + original["7"] + ACQUIRER.rjust(11, "0") + "0" * 11,
               **{k: v for k, v in self.next_ids().items() if k != "37"}}
        if remaining is not None:
            doc["95"] = f"{remaining:012d}" + "0" * 30
        return doc

    def network_management(self, code):
        return {"t": "0800", "70": code, **{k: v for k, v in self.next_ids().items() if k != "37"}}


def find_key(value, key):
    """The first value under `key` anywhere in a JSON document."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = find_key(item, key)
            if found is not None:
                return found
    return None


def reference(doc):
    return f"iso8583:{ACQUIRER}:{doc['7']}:{doc['11']}:{doc['37']}"


class Issuer:
    """A tenant with one card program, set up over HTTP as an operator would."""

    def __init__(self, server, database):
        self.server = server
        created = json.loads(zentra("tenant", "create", "acme", "--database", database).stdout)
        self.admin, self.tenant = created["api_key"], created["tenant"]
        status, _, program = self.http("POST", "/card-programs", {
            "name": "Network", "currency": "USD", "bin": "424242", "sensitive_details_enabled": True,
            "max_cards_per_customer": 10, "spend_controls": {"per_transaction_minor": 50_000, "blocked_mccs": ["7995"]}})
        assert status == 201, program
        self.program = program["id"]

    def http(self, method, path, body=None):
        return call(self.server.port, method, path, body, self.admin)

    def card(self, funds):
        _, _, customer = self.http("POST", "/customers", {"name": "Ada", "email": "ada@example.com", "kyc_status": "verified"})
        _, _, account = self.http("POST", "/accounts", {"customer": customer["id"], "currency": "USD"})
        assert self.http("POST", f"/accounts/{account['id']}/deposits", {"amount_minor": funds, "transaction_reference": str(uuid.uuid4())})[0] == 201
        status, _, card = self.http("POST", "/cards", {"customer": customer["id"], "account": account["id"], "program": self.program, "type": "virtual"})
        assert status == 201, card
        assert self.http("POST", f"/cards/{card['id']}/fund", {"amount_minor": funds, "transaction_reference": str(uuid.uuid4())})[0] == 201
        _, _, details = self.http("GET", f"/cards/{card['id']}/sensitive")
        return card["id"], details["pan"], f"{card['exp_year'] % 100:02d}{card['exp_month']:02d}"

    def held(self, card):
        return self.http("GET", f"/cards/{card}")[2]["held_minor"]

    def authorizations(self, card):
        return self.http("GET", f"/authorizations?card={card}&limit=100")[2]["data"]


def serve(database, key_file, iso_port):
    return Server(database, extra=["--card-data-key-file", str(key_file), "--iso8583-port", str(iso_port)])


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/zentra.sqlite"
    else:
        cluster = request.getfixturevalue("postgres")
        yield cluster.url


def test_a_network_conversation(database, tmp_path):
    iso_port = free_port()
    server = serve(database, tmp_path / "card.key", iso_port)
    try:
        issuer, network = Issuer(server, database), Network()
        card, pan, expiry = issuer.card(100_000)
        link = Link(iso_port)

        for code in ["001", "301", "002"]:
            answer = link.ask(network.network_management(code))
            assert answer["t"] == "0810" and answer["39"] == "00" and answer["70"] == code

        # An approval holds the amount and answers with an approval code; the PAN comes back masked.
        approve = network.authorization(pan, expiry, 12_345)
        answer = link.ask(approve)
        assert answer["t"] == "0110" and answer["39"] == "00" and len(answer["38"]) == 6
        approval_code = answer["38"]
        assert answer["11"] == approve["11"] and answer["37"] == approve["37"] and answer["4"] == approve["4"]
        assert answer["2"].endswith(pan[-4:]) and pan not in answer["2"]
        assert issuer.held(card) == 12_345
        [decided] = [a for a in issuer.authorizations(card) if a["network_reference"] == reference(approve)]
        assert decided["status"] == "approved" and decided["amount_minor"] == 12_345 and decided["channel"] == "in_store"
        assert decided["merchant"] == {"id": "MERCHANT0000001", "name": "Corner Shop", "mcc": "5411", "country": "US",
                                       "city": "Springfield"}
        assert decided["source"] == "iso8583"
        # Its evidence keeps the message's fields it used; never the PAN.
        status, _, evidence = issuer.http("GET", f"/authorizations/{decided['id']}/evidence")
        assert status == 200 and pan not in json.dumps(evidence)
        message = find_key(evidence, "network_message")
        assert message == {"mti": "0100", "stan": approve["11"], "rrn": approve["37"], "transmitted_at": approve["7"],
                           "acquirer": ACQUIRER, "terminal": "TERM0001", "processing_code": "000000", "entry_mode": "051",
                           "transaction_amount_minor": 12_345, "transaction_currency": "USD"}

        # The same message again answers the first decision and holds nothing twice.
        again = link.ask(approve)
        assert (again["39"], again["38"]) == ("00", approval_code)
        assert issuer.held(card) == 12_345

        # Declines the policy makes, with their response codes, and refusals before it.
        cases = [
            (network.authorization(pan, expiry, 60_000), "61"),                     # over the per-transaction limit
            (network.authorization(pan, expiry, 100, mcc="7995"), "57"),             # blocked category
            (network.authorization(pan, expiry, 100, currency="978"), "12"),          # not the card's currency
            (network.authorization(pan, "0101", 100), "54"),                         # wrong expiry
            (network.authorization("4000000000000002", expiry, 100), "14"),          # unknown card
            (network.authorization(pan, expiry, 0), "13"),                           # invalid amount
            (network.authorization(pan, expiry, 100, **{"4": "00000000010X"}), "30"),  # not digits
            (network.authorization(pan, expiry, 100, **{"43": "x" * 38 + "ZZ"}), "30"),  # no such country
        ]
        for doc, code in cases:
            answer = link.ask(doc)
            assert (answer["t"], answer["39"], answer["11"]) == ("0110", code, doc["11"]), doc
            assert "38" not in answer
        assert issuer.held(card) == 12_345
        # Another currency: the hold and limits use the cardholder billing amount (fields 6 and 51)
        # when the network converted it, and the evidence keeps both amounts.
        abroad = network.authorization(pan, expiry, 9_000, currency="978", **{"6": f"{10_000:012d}", "51": "840"})
        assert link.ask(abroad)["39"] == "00"
        assert issuer.held(card) == 12_345 + 10_000
        [converted] = [a for a in issuer.authorizations(card) if a["network_reference"] == reference(abroad)]
        assert (converted["amount_minor"], converted["currency"]) == (10_000, "USD")
        message = find_key(issuer.http("GET", f"/authorizations/{converted['id']}/evidence")[2], "network_message")
        assert (message["transaction_amount_minor"], message["transaction_currency"]) == (9_000, "EUR")
        assert (message["billing_amount_minor"], message["billing_currency"]) == (10_000, "USD")
        assert link.ask(network.reversal(abroad))["39"] == "00"
        assert issuer.held(card) == 12_345

        drained = network.authorization(pan, expiry, 45_000)
        assert link.ask(drained)["39"] == "00"
        assert link.ask(network.authorization(pan, expiry, 45_000))["39"] == "51"   # insufficient funds

        # A partial reversal (advice) leaves field 95's amount held; sent again it changes nothing.
        partial = network.reversal(drained, mti="0420", remaining=5_000)
        for _ in range(2):
            answer = link.ask(partial)
            assert (answer["t"], answer["39"], answer["90"]) == ("0430", "00", partial["90"])
            assert issuer.held(card) == 12_345 + 5_000
        # A full reversal releases the rest, once.
        full = network.reversal(approve)
        for _ in range(2):
            answer = link.ask(full)
            assert (answer["t"], answer["39"]) == ("0410", "00")
            assert issuer.held(card) == 5_000
        [reversed_] = [a for a in issuer.authorizations(card) if a["network_reference"] == reference(approve)]
        assert reversed_["status"] == "reversed"
        # A reversal of something never authorized is answered and changes nothing.
        unknown = network.reversal(network.authorization(pan, expiry, 100))
        assert link.ask(unknown)["39"] == "25"
        assert issuer.held(card) == 5_000

        # Unsupported types are answered, not dropped.
        assert link.ask({"t": "0200", **network.next_ids()})["39"] == "40"

        # Events went out for the decisions, as for POST /authorizations.
        _, _, events = issuer.http("GET", "/events?limit=100")
        assert any(e["type"] == "authorization.approved" and e["data"]["object"]["network_reference"] == reference(approve) for e in events["data"])

        _, _, metrics = call(server.port, "GET", "/metrics")
        assert 'zentra_iso8583_messages_total{mti="0100",response_code="00"}' in metrics
        assert "zentra_iso8583_message_duration_seconds_bucket" in metrics
        link.close()
    finally:
        server.stop()

    # After a restart a repeated message still answers the first decision.
    server = serve(database, tmp_path / "card.key", iso_port)
    try:
        link = Link(iso_port)
        again = link.ask(approve)
        assert (again["39"], again["38"]) == ("00", approval_code)
        link.close()
    finally:
        server.stop()
    assert pan not in server.output()
    replayed = zentra("replay", decided["id"], "--tenant", issuer.tenant, "--database", database)
    assert json.loads(replayed.stdout)["agrees"] is True


def test_stand_in_advices_are_recorded_as_the_network_decided(database, tmp_path):
    iso_port = free_port()
    server = serve(database, tmp_path / "card.key", iso_port)
    try:
        issuer, network = Issuer(server, database), Network()
        card, pan, expiry = issuer.card(10_000)
        link = Link(iso_port)

        def advice(amount, code, **extra):
            doc = network.authorization(pan, expiry, amount, **extra)
            doc.update({"t": "0120", "39": code})
            answer = link.ask(doc)
            assert (answer["t"], answer["39"], answer["11"]) == ("0130", "00", doc["11"])
            [decided] = [a for a in issuer.authorizations(card) if a["network_reference"] == reference(doc)]
            return doc, decided

        # Approved in stand-in, as the policy would have: an ordinary approval.
        _, within = advice(3_000, "00")
        assert (within["status"], within["hold"]["amount_minor"], within["response_code"]) == ("approved", 3_000, "00")
        # Approved in stand-in past the per-transaction limit and the funds: held (what the card
        # has), in the operator's review queue, the policy's own trace kept.
        doc, past = advice(60_000, "00")
        assert (past["status"], past["response_code"], past["hold"]["amount_minor"]) == ("review", "00", 7_000)
        assert past["review"]["network_outcome"] == "approve" and past["policy"]["decision"] == "declined"
        assert issuer.held(card) == 10_000
        message = find_key(issuer.http("GET", f"/authorizations/{past['id']}/evidence")[2], "network_message")
        assert (message["mti"], message["stand_in_response_code"]) == ("0120", "00")
        # The same advice again records nothing twice.
        assert link.ask(doc)["39"] == "00"
        assert issuer.held(card) == 10_000
        # Declined in stand-in where the policy would have approved: recorded, nothing held.
        other, other_pan, other_expiry = issuer.card(10_000)
        doc = network.authorization(other_pan, other_expiry, 100)
        doc.update({"t": "0120", "39": "51"})
        assert link.ask(doc)["39"] == "00"
        [declined] = [a for a in issuer.authorizations(other) if a["network_reference"] == reference(doc)]
        assert (declined["status"], declined["decline_reason"], declined["response_code"]) == ("declined", "network_declined", "51")
        assert "hold" not in declined and issuer.held(other) == 0
        # An advice without the network's response code is a format error and records nothing.
        doc = network.authorization(pan, expiry, 100)
        doc["t"] = "0120"
        assert link.ask(doc)["39"] == "30"
        link.close()

        # The operator settles the review; the ledger stays exact.
        status, _, settled = issuer.http("POST", f"/authorizations/{past['id']}/review", {"decision": "approve", "note": "stand-in"})
        assert status == 200 and settled["status"] == "approved"
    finally:
        server.stop()
    assert json.loads(zentra("ledger", "verify", "--database", database).stdout)["ok"] is True
    replayed = zentra("replay", past["id"], "--tenant", issuer.tenant, "--database", database)
    assert json.loads(replayed.stdout)["agrees"] is True


def test_a_database_that_cannot_be_reached_is_answered_96(postgres, tmp_path):
    iso_port = free_port()
    server = serve(postgres.url, tmp_path / "card.key", iso_port)
    try:
        issuer, network = Issuer(server, postgres.url), Network()
        card, pan, expiry = issuer.card(10_000)
        link = Link(iso_port)
        assert link.ask(network.authorization(pan, expiry, 100))["39"] == "00"
        postgres.stop()
        down = network.authorization(pan, expiry, 200)
        answer = link.ask(down)
        assert (answer["t"], answer["39"], answer["11"]) == ("0110", "96", down["11"])
        postgres.start()
        # Nothing was written for it: the same message once the database is back is decided anew.
        deadline = time.time() + 30
        while (answer := link.ask(down))["39"] == "96" and time.time() < deadline:
            time.sleep(0.5)
        assert answer["39"] == "00"
        assert issuer.held(card) == 300
        link.close()
    finally:
        server.stop()


def test_many_messages_in_flight_on_several_connections(sqlite_url, tmp_path):
    iso_port = free_port()
    server = serve(sqlite_url, tmp_path / "card.key", iso_port)
    try:
        issuer, network = Issuer(server, sqlite_url), Network()
        cards = [issuer.card(1_000_000) for _ in range(4)]

        def pipeline(index):
            card, pan, expiry = cards[index]
            link = Link(iso_port)
            docs = [network.authorization(pan, expiry, 100 + i) for i in range(50)]
            link.sock.sendall(b"".join(frame(doc) for doc in docs))       # all sent before any answer is read
            answers = {a["11"]: a for a in (answer_of(read_frame(link.sock)) for _ in docs)}
            link.close()
            return card, docs, answers

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(pipeline, range(4)))
        for card, docs, answers in results:
            assert sorted(answers) == sorted(doc["11"] for doc in docs)
            assert all(answers[doc["11"]]["37"] == doc["37"] and answers[doc["11"]]["39"] == "00" for doc in docs)
            assert issuer.held(card) == sum(100 + i for i in range(50))
    finally:
        server.stop()


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def mutated(raw, rng):
    """A well-formed 0100 broken one way: flipped bytes, a cut, non-digits in numeric fields, a huge
    LLLVAR, a bad bitmap, or bytes appended. The message type stays, so each deserves an answer."""
    body = bytearray(raw)
    kind = rng.randrange(6)
    if kind == 0:
        for _ in range(rng.randint(1, 6)):
            body[rng.randrange(4, len(body))] = rng.randrange(256)
    elif kind == 1:
        body = body[:rng.randrange(4, len(body))]
    elif kind == 2:
        # Letters among the digits of field 4 (the amount), 7, 11 or 14: after the type, the
        # primary bitmap and field 2 (2 + 16 digits) come 3 (6), 4 (12), 7 (10), 11 (6), 14 (4).
        start, length = rng.choice([(44, 12), (56, 10), (66, 6), (72, 4)])
        for _ in range(rng.randint(1, length)):
            body[start + rng.randrange(length)] = ord(rng.choice("ABCxyz-+ "))
    elif kind == 3:
        # A private LLLVAR field (48) claiming 999 characters, followed by far fewer.
        body[4:20] = ("%016X" % (int(bytes(body[4:20]).decode(), 16) | (1 << (64 - 48)))).encode()
        body += b"999" + bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 50)))
    elif kind == 4:
        for i in range(rng.randint(1, 16)):
            body[4 + rng.randrange(16)] = ord(rng.choice("GHZ!g0F8"))
    else:
        body += bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    return bytes(body)


def test_ten_thousand_hostile_frames(sqlite_url, tmp_path):
    iso_port = free_port()
    server = serve(sqlite_url, tmp_path / "card.key", iso_port)
    try:
        issuer, network = Issuer(server, sqlite_url), Network()
        card, pan, expiry = issuer.card(10_000_000)
        rng = random.Random(8583)
        link = Link(iso_port)

        def burst(count):
            """`count` mutated frames then one echo, pipelined; every one is answered."""
            frames = []
            for _ in range(count):
                raw, _ = iso8583.encode(network.authorization(pan, expiry, rng.randint(1, 500)), SPEC)
                body = mutated(bytes(raw), rng)
                frames.append(struct.pack(">H", len(body)) + body)
            echo = network.network_management("301")
            frames.append(frame(echo))
            link.sock.sendall(b"".join(frames))
            answers = [read_frame(link.sock) for _ in frames]
            assert all(a[:4] in (b"0110", b"0810") for a in answers)
            codes = [answer_of(a)["39"] for a in answers]
            assert codes.count("30") > count // 4, codes
            assert any(answer_of(a).get("11") == echo["11"] for a in answers if a[:4] == b"0810")

        burst(500)
        baseline = rss_kib(server.process.pid)
        for _ in range(19):
            burst(500)
        grown = rss_kib(server.process.pid) - baseline
        assert grown < 32 * 1024, f"memory grew by {grown} KiB over 9,500 hostile frames"

        # Frames with no request type close their connection; the server goes on serving others.
        for garbage in [b"", b"\x00\x01", b"GET / HTTP/1.1\r\n\r\n", b"0110" + b"0" * 16, bytes(rng.randrange(256) for _ in range(300))]:
            other = Link(iso_port)
            other.sock.sendall(struct.pack(">H", len(garbage)) + garbage)
            with pytest.raises(ConnectionError):
                read_frame(other.sock)
            other.close()

        # A frame split into one-byte writes is read whole.
        approve = network.authorization(pan, expiry, 700)
        for byte in frame(approve):
            link.sock.send(bytes([byte]))
        assert answer_of(read_frame(link.sock))["39"] == "00"
        link.close()
        assert server.process.poll() is None, "the server died"
    finally:
        server.stop()
    assert "Fatal error" not in server.output()


def test_shutdown_answers_every_message_it_read(sqlite_url, tmp_path):
    """A network that reads slowly and goes on sending after shutdown began still reads the answer
    to every message decided: the server writes its answers, closes its output and reads on until
    the network closes (a socket closed with unread bytes is reset, and the reset would throw away
    answers not read yet)."""
    iso_port = free_port()
    server = serve(sqlite_url, tmp_path / "card.key", iso_port)
    issuer, network = Issuer(server, sqlite_url), Network()
    card, pan, expiry = issuer.card(10_000_000)
    link = Link(iso_port, receive_buffer=4096)
    docs = {doc["11"]: doc for doc in (network.authorization(pan, expiry, 100) for _ in range(300))}
    link.sock.sendall(b"".join(frame(doc) for doc in docs.values()))
    server.process.terminate()

    def send_late():
        late = b"".join(frame(network.network_management("301")) for _ in range(2_000))
        try:
            link.sock.sendall(late)
        except OSError:
            pass

    late = threading.Thread(target=send_late)
    late.start()
    answered = []
    try:
        while True:
            answered.append(answer_of(read_frame(link.sock)))
    except ConnectionError:
        pass
    late.join()
    link.close()
    assert server.process.wait(timeout=30) == 0
    decided = [a for a in answered if a["t"] == "0110"]
    assert decided and all(a["39"] == "00" and a["37"] == docs[a["11"]]["37"] for a in decided)

    # What was answered is exactly what was held: nothing decided went unanswered.
    issuer.server = server = serve(sqlite_url, tmp_path / "card.key", iso_port)
    try:
        assert issuer.held(card) == 100 * len(decided), len(decided)
    finally:
        server.stop()


def test_a_network_that_closes_its_side_still_reads_every_answer(sqlite_url, tmp_path):
    iso_port = free_port()
    server = serve(sqlite_url, tmp_path / "card.key", iso_port)
    try:
        issuer, network = Issuer(server, sqlite_url), Network()
        card, pan, expiry = issuer.card(10_000_000)
        link = Link(iso_port)
        docs = {doc["11"]: doc for doc in (network.authorization(pan, expiry, 100) for _ in range(50))}
        link.sock.sendall(b"".join(frame(doc) for doc in docs.values()))
        link.sock.shutdown(socket.SHUT_WR)
        answered = [answer_of(read_frame(link.sock)) for _ in docs]
        assert sorted(a["11"] for a in answered) == sorted(docs)
        with pytest.raises(ConnectionError):
            read_frame(link.sock)
        link.close()
        assert issuer.held(card) == 100 * len(docs)
    finally:
        server.stop()


def test_only_the_allowed_networks_may_connect(sqlite_url, tmp_path):
    iso_port = free_port()
    server = Server(sqlite_url, extra=["--card-data-key-file", str(tmp_path / "card.key"), "--iso8583-port", str(iso_port)],
                    env={"ZENTRA_ISO8583_ALLOWED_NETWORKS": "10.0.0.0/8"})
    try:
        link = Link(iso_port)
        link.sock.sendall(frame(Network().network_management("301")))
        with pytest.raises((ConnectionError, OSError)):
            read_frame(link.sock)
        link.close()
    finally:
        server.stop()
    # A network that is not one is a clear error at start.
    result = subprocess.run([str(BINARY), "serve", "--database", sqlite_url, "--port", str(free_port()), "--iso8583-port", str(iso_port)],
                            capture_output=True, text=True, timeout=30, env={**os.environ, "ZENTRA_ISO8583_ALLOWED_NETWORKS": "10.0.0.0/33"})
    assert result.returncode != 0 and "ZENTRA_ISO8583_ALLOWED_NETWORKS" in result.stderr
