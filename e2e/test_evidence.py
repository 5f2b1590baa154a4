"""Evidence packets checked offline with an independent Ed25519 implementation (pyca/cryptography),
across `zentra evidence rotate-key` and a restart; `zentra replay` decides a recorded decision again."""
import base64
import json
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from conftest import Server, call, zentra
from test_authorizations import authorize, funded_card


def fetch_raw(port, path, key):
    import urllib.request
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read(), response.headers["Zentra-Evidence-Signature"]


def verifies(body, header, keys):
    fields = dict(part.split("=", 1) for part in header.split(","))
    key = next(k for k in keys if k["id"] == fields["keyid"])
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(base64.b64decode(fields["ed25519"]), body)
        return True
    except InvalidSignature:
        return False


def test_evidence_verifies_offline_before_and_after_a_key_rotation(tmp_path, sqlite_url):
    key_file = tmp_path / "evidence.keys"
    arguments = ["--card-data-key-file", str(tmp_path / "card.key"), "--evidence-key-file", str(key_file)]
    server = Server(sqlite_url, extra=arguments)
    try:
        created = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)
        admin = created["api_key"]
        network = call(server.port, "POST", "/api-keys", {"role": "network"}, admin)[2]["api_key"]
        program = call(server.port, "POST", "/card-programs", {"name": "Plain", "currency": "USD", "bin": "424242"}, admin)[2]
        card = funded_card(server.port, admin, program["id"], 10_000)
        decided = authorize(server.port, network, card, 1_000, str(uuid.uuid4()))[2]
        body, header = fetch_raw(server.port, f"/authorizations/{decided['id']}/evidence", admin)
        keys = call(server.port, "GET", "/evidence/keys")[2]["keys"]
        assert verifies(body, header, keys)
        assert not verifies(body.replace(b'"approved"', b'"declined"', 1), header, keys)
    finally:
        assert server.stop() == 0
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    replayed = zentra("replay", decided["id"], "--tenant", created["tenant"], "--database", sqlite_url)
    assert json.loads(replayed.stdout)["agrees"] is True

    rotated = json.loads(zentra("evidence", "rotate-key", "--evidence-key-file", str(key_file)).stdout)
    server = Server(sqlite_url, extra=arguments)
    try:
        keys = call(server.port, "GET", "/evidence/keys")[2]["keys"]
        assert len(keys) == 2 and keys[-1]["id"] == rotated["signing_key"] and rotated["keys"] == 2
        assert verifies(body, header, keys), "a packet signed before the rotation still verifies"
        new_body, new_header = fetch_raw(server.port, f"/authorizations/{decided['id']}/evidence", admin)
        assert rotated["signing_key"] in new_header and verifies(new_body, new_header, keys)
    finally:
        assert server.stop() == 0
