"""Webhook delivery seen from a real receiver: signatures checked by the stock `standardwebhooks`
library and by an HMAC written here from the specification; a retry schedule that spans a server
restart; two servers on one PostgreSQL delivering every event exactly once."""
import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

from conftest import Server, call, wait_until, zentra

WEBHOOK_ENV = {"ZENTRA_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}


class Receiver:
    """An HTTP receiver on loopback that answers `status` and keeps every request."""

    def __init__(self):
        self.status = 200
        self.calls = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.calls.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "at": time.time()})
                    status = receiver.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self):
        with self.lock:
            return [c["headers"]["webhook-id"] for c in self.calls]

    def close(self):
        self.server.shutdown()


def independent_signature(secret, headers, body):
    """The Standard Webhooks scheme, from its specification: HMAC-SHA256 over `id.timestamp.body`
    keyed by the base64-decoded part of `whsec_...`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def deliveries(port, admin, endpoint):
    return call(port, "GET", f"/webhook-endpoints/{endpoint}/deliveries?limit=100", key=admin)[2]["data"]


def test_signatures_verify_independently_and_retries_survive_a_restart(tmp_path, sqlite_url):
    receiver = Receiver()
    receiver.status = 500
    arguments = ["--card-data-key-file", str(tmp_path / "card.key"), "--evidence-key-file", str(tmp_path / "evidence.keys")]
    env = {**WEBHOOK_ENV, "ZENTRA_WEBHOOK_RETRY_SCHEDULE": "4s,4s,4s"}
    server = Server(sqlite_url, extra=arguments, env=env)
    try:
        admin = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)["api_key"]
        status, _, endpoint = call(server.port, "POST", "/webhook-endpoints", {"url": receiver.url, "event_types": ["customer.*"]}, admin)
        assert status == 201, endpoint
        secret = endpoint["secret"]
        customer = call(server.port, "POST", "/customers", {"name": "Ada", "email": "ada@example.com"}, admin)[2]
        wait_until("the first attempt is recorded", lambda: any(d["attempts"] for d in deliveries(server.port, admin, endpoint["id"])))
    finally:
        assert server.stop() == 0
    with receiver.lock:
        failed_calls = len(receiver.calls)
        receiver.status = 204
    server = Server(sqlite_url, extra=arguments, env=env)
    try:
        restarted = time.time()
        wait_until("the restarted server delivers", lambda: deliveries(server.port, admin, endpoint["id"])[0]["status"] == "succeeded")
        delivery = deliveries(server.port, admin, endpoint["id"])[0]
        codes = [attempt.get("status_code") for attempt in delivery["attempts"]]
        assert codes == [500] * failed_calls + [204], delivery
        assert receiver.calls[-1]["at"] >= restarted, "the successful attempt came from the restarted server"
        assert len(set(receiver.ids())) == 1, "every attempt carries the same webhook-id"

        event_id = receiver.ids()[0]
        raw_event = call(server.port, "GET", f"/events/{event_id}", key=admin)[2]
        assert raw_event["type"] == "customer.created" and raw_event["data"]["object"]["id"] == customer["id"]
        for attempt in receiver.calls:
            headers, body = attempt["headers"], attempt["body"]
            assert json.loads(body) == raw_event
            assert Webhook(secret).verify(body, headers) == raw_event, "the stock library verifies it"
            assert headers["webhook-signature"] == independent_signature(secret, headers, body)
            assert abs(int(headers["webhook-timestamp"]) - time.time()) < 120

        # A redelivery is the same message again; a tampered body fails verification.
        status, _, redelivered = call(server.port, "POST", f"/events/{event_id}/redeliver", {}, admin)
        assert status == 202 and len(redelivered["data"]) == 1
        wait_until("the redelivery arrives", lambda: len(receiver.calls) == failed_calls + 2)
        again = receiver.calls[-1]
        assert again["headers"]["webhook-id"] == event_id and Webhook(secret).verify(again["body"], again["headers"]) == raw_event
        try:
            Webhook(secret).verify(again["body"].replace(b"Ada", b"Eve"), again["headers"])
            raise AssertionError("a tampered body verified")
        except Exception as error:
            assert "signature" in str(error).lower()
    finally:
        assert server.stop() == 0
        receiver.close()


def test_two_servers_deliver_every_event_exactly_once(postgres):
    receiver = Receiver()
    servers = [Server(postgres.url, env=WEBHOOK_ENV), Server(postgres.url, env=WEBHOOK_ENV)]
    try:
        admin = json.loads(zentra("tenant", "create", "acme", "--database", postgres.url).stdout)["api_key"]
        endpoint = call(servers[0].port, "POST", "/webhook-endpoints", {"url": receiver.url, "event_types": ["customer.created"]}, admin)[2]
        created = set()
        for i in range(60):
            customer = call(servers[i % 2].port, "POST", "/customers", {"name": f"C{i}", "email": f"c{i}@example.com"}, admin)[2]
            created.add(customer["id"])
        # Once every delivery is recorded succeeded no process sends any of them again, so what
        # arrived by then is all that ever arrives.
        wait_until("every delivery is recorded", lambda: [d["status"] for d in deliveries(servers[1].port, admin, endpoint["id"])] == ["succeeded"] * 60)
        ids = receiver.ids()
        assert len(ids) == 60, f"{len(ids) - len(set(ids))} duplicates"
        delivered = {json.loads(c["body"])["data"]["object"]["id"] for c in receiver.calls}
        assert delivered == created
        stored = deliveries(servers[1].port, admin, endpoint["id"])
        assert all(len(d["attempts"]) == 1 for d in stored)
    finally:
        for server in servers:
            assert server.stop() == 0
        receiver.close()
