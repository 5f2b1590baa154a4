"""End-to-end: no PAN or CVV leaves the vault except through the audited sensitive read."""
import json
import os
import stat

from conftest import Server, call, zentra


def test_pan_and_cvv_never_appear_in_logs_events_audit_or_errors(tmp_path, sqlite_url):
    zentra("migrate", "--database", sqlite_url)
    tenant = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)
    key = tenant["api_key"]
    server = Server(sqlite_url)
    answers = []

    def api(method, path, body=None, **kwargs):
        status, headers, payload = call(server.port, method, path, body, key=key, **kwargs)
        answers.append(json.dumps(payload) if not isinstance(payload, str) else payload)
        return status, payload

    try:
        _, customer = api("POST", "/customers", {"name": "Ada", "email": "ada@example.com", "kyc_status": "verified"})
        _, account = api("POST", "/accounts", {"customer": customer["id"], "currency": "USD"})
        api("POST", f"/accounts/{account['id']}/deposits", {"amount_minor": 5000, "transaction_reference": "d1"})
        _, program = api("POST", "/card-programs", {"name": "P", "currency": "USD", "bin": "411111",
                                                     "sensitive_details_enabled": True, "max_cards_per_customer": 2})
        cards = [api("POST", "/cards", {"customer": customer["id"], "account": account["id"], "program": program["id"],
                                        "type": "virtual"})[1] for _ in range(2)]
        for n, card in enumerate(cards):
            api("POST", f"/cards/{card['id']}/fund", {"amount_minor": 1000, "transaction_reference": f"f{n}"})
            api("POST", f"/cards/{card['id']}/lock", {"reason": "test"})
            api("POST", f"/cards/{card['id']}/security", {"allowed_channels": ["nope"]})
            api("POST", f"/cards/{card['id']}/fund", {"amount_minor": 999999, "transaction_reference": f"big{n}"})
        api("POST", "/cards", {"customer": customer["id"], "account": account["id"], "program": program["id"], "type": "virtual"})
        secrets = []
        for card in cards:
            status, _, details = call(server.port, "GET", f"/cards/{card['id']}/sensitive", key=key)
            assert status == 200 and details["pan"].endswith(card["last4"])
            secrets.append((details["pan"], details["cvv"]))
        for path in ["/events?limit=100", "/audit-log?limit=100", "/cards?limit=100", "/runtime/intents?limit=100",
                     "/ledger/accounts?limit=100"]:
            api("GET", path)
    finally:
        server.stop()

    log = server.output()
    with open(tmp_path / "zentra.sqlite", "rb") as database:
        stored = database.read()
    for pan, cvv in secrets:
        assert pan not in log, "PAN in the server log"
        assert pan.encode() not in stored, "PAN stored in the clear"
        for answer in answers:
            assert pan not in answer, f"PAN in an answer: {answer[:200]}"
            assert f'"cvv": "{cvv}"' not in answer and f'"cvv":"{cvv}"' not in answer, "CVV in an answer"


def test_card_data_key_file_is_created_private_and_reused(tmp_path, sqlite_url):
    key_file = tmp_path / "card.key"
    server = Server(sqlite_url, extra=["--card-data-key-file", str(key_file)])
    server.stop()
    mode = stat.S_IMODE(os.stat(key_file).st_mode)
    assert mode == 0o600, oct(mode)
    first = key_file.read_text()
    server = Server(sqlite_url, extra=["--card-data-key-file", str(key_file)])
    server.stop()
    assert key_file.read_text() == first
