"""The API fuzzed against its own schema by schemathesis, a tool we did not write.

All four phases (examples, coverage, fuzzing, stateful: the OpenAPI `links` of openapi.yaml let it
create customers, accounts, programs, cards, authorizations and work on them) with the checks
not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance, a fixed seed and a time budget: ZENTRA_SCHEMA_FUZZ_SECONDS (default
150; docs/reliability.md gives the longer run). Before it starts, one object of each kind exists and
its id is the one the routes naming that kind are given, so the fuzzer reaches real objects rather
than 404s. Beyond zero failures, no "schema validation mismatch" warning: valid data by the schema is
not refused by the server for its shape (refusals from the state of the world, 409s, are not
counted)."""
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from conftest import Server, call, zentra

SECONDS = int(os.environ.get("ZENTRA_SCHEMA_FUZZ_SECONDS", "150"))
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
OWN_IDS_ONLY = "phases = { fuzzing = { extra-data-sources = { responses = false } } }"


def post(server, key, path, body, expect=(200, 201)):
    status, _, answer = call(server.port, "POST", path, body, key=key)
    assert status in expect, f"{path}: {status} {answer}"
    return answer


def seed(server, key):
    """One object of each kind, by the collection its routes name; a route that changes its
    object's state for good (closing, revoking, deciding, resolving) gets an object of its own,
    by its path, so the other routes keep reaching live ones."""
    ids = {}
    merchant = {"id": "m_1", "name": "Shop", "mcc": "5411", "country": "US"}

    def customer():
        return post(server, key, "/customers", {"name": "Ada", "email": "ada@example.com", "kyc_status": "verified"})["id"]

    ids["/customers"], ids["/customers/{id}/kyc"] = customer(), customer()
    account = post(server, key, "/accounts", {"customer": ids["/customers"], "currency": "USD"})
    ids["/accounts"] = account["id"]
    # Enough that the fuzzer's fundings of cards rarely run the wallet dry.
    deposit = post(server, key, "/accounts/%s/deposits" % account["id"], {"amount_minor": 2**62, "transaction_reference": "seed"})
    ids["/ledger/journal-entries"], ids["/runtime/intents"] = deposit["journal_entry"], deposit["intent"]
    # As many cards per customer as a program allows (the fuzzer issues hundreds), and their numbers
    # readable, so that GET /cards/{id}/sensitive is more than a 403.
    program = post(server, key, "/card-programs", {"name": "P", "currency": "USD", "bin": "42424242", "max_cards_per_customer": 1000, "sensitive_details_enabled": True,
                                                   "review_rules": [{"type": "amount_over", "amount_minor": 50_000}]})
    ids["/card-programs"] = program["id"]

    def card():
        issued = post(server, key, "/cards", {"customer": ids["/customers"], "account": account["id"], "program": program["id"]})["id"]
        post(server, key, "/cards/%s/fund" % issued, {"amount_minor": 1_000_000, "transaction_reference": issued})
        return issued

    ids["/cards"], ids["/operator/cards/{id}/close"] = card(), card()

    def authorize(amount):
        return post(server, key, "/authorizations", {"card": ids["/cards"], "amount_minor": amount, "currency": "USD", "channel": "online",
                                                     "merchant": merchant, "network_reference": f"seed-{len(ids)}"})["id"]

    ids["/authorizations"] = authorize(1_000)
    ids["/authorizations/{id}/reversals"] = ids["/authorizations/{id}/increments"] = authorize(2_000)
    ids["/authorizations/{id}/review"] = authorize(60_000)

    def clear(authorization, amount, clearing_id):
        return post(server, key, "/clearings", {"clearing_id": clearing_id, "authorization": authorization, "card": ids["/cards"],
                                                "amount_minor": amount, "currency": "USD", "merchant": merchant})

    cleared = clear(ids["/authorizations"], 1_200, "seed-c1")
    ids["/clearings"], ids["/transactions"] = cleared["id"], cleared["transaction"]
    ids["/reconciliation-cases"] = cleared["reconciliation_case"]
    ids["/reconciliation-cases/{id}/resolve"] = clear(authorize(3_000), 3_100, "seed-c2")["reconciliation_case"]
    csv = ("clearing_id,authorization,network_reference,card,amount_minor,currency,merchant_id,merchant_name,mcc,country\n"
           f"seed-f1,,,{ids['/cards']},300,USD,m_1,Shop,5411,US\n")
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/clearing-files?file_id=seed-file", data=csv.encode(), method="POST",
                                     headers={"Content-Type": "text/csv", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    ids["/clearing-files"] = "seed-file"
    ids["/settlements"] = post(server, key, "/settlements", {"currency": "USD"})["id"]
    for path in ("/disputes", "/disputes/{id}/submit", "/disputes/{id}/withdraw", "/disputes/{id}/resolve"):
        ids[path] = post(server, key, "/disputes", {"transaction": cleared["transaction"], "reason": "not_received",
                                                    "amount_minor": 100, "provisional_credit": False})["id"]
    endpoint = {"url": "https://hooks.example.com/", "event_types": ["*"]}
    ids["/webhook-endpoints"] = post(server, key, "/webhook-endpoints", endpoint)["id"]
    ids["DELETE /webhook-endpoints/{id}"] = post(server, key, "/webhook-endpoints", endpoint)["id"]
    ids["DELETE /api-keys/{id}"] = ids["/api-keys"] = post(server, key, "/api-keys", {"role": "readonly"})["id"]
    ids["/events"] = call(server.port, "GET", "/events", key=key)[2]["data"][0]["id"]
    ids["/ledger/accounts"] = call(server.port, "GET", "/ledger/accounts", key=key)[2]["data"][0]["id"]
    return ids


def config(ids, openapi):
    """schemathesis.toml: the seeded ids by route, the seeded references in bodies, and the
    currency a clearing of the seeded card must have."""
    lines = ['hooks = "schemathesis_hooks"', '', '[parameters]']
    for field, collection in [("customer", "/customers"), ("account", "/accounts"), ("program", "/card-programs"),
                              ("card", "/cards"), ("authorization", "/authorizations"), ("transaction", "/transactions")]:
        lines.append(f'"body.{field}" = "{ids[collection]}"')
    # A clearing is in its card's currency (422 currency_mismatch otherwise): the seeded card's.
    lines += ["", "[[operations]]", 'include-name = "POST /clearings"', 'parameters = { "body.currency" = "USD" }']
    for path, item in openapi["paths"].items():
        match = re.match(r"^(/.+?)/\{id\}", path)
        if not match:
            continue
        # A method's own object first: schemathesis takes the first entry that matches. A route
        # with an object of its own changes it for good, and is given no ids seen in other answers:
        # it would close, revoke or un-verify the objects the rest of the run works on.
        for method in item:
            if f"{method.upper()} {path}" in ids:
                lines += ["", "[[operations]]", f'include-name = "{method.upper()} {path}"',
                          f'parameters = {{ "path.id" = "{ids[f"{method.upper()} {path}"]}" }}', OWN_IDS_ONLY]
        lines += ["", "[[operations]]", f'include-path = "{path}"', f'parameters = {{ "path.id" = "{ids[path] if path in ids else ids[match.group(1)]}" }}']
        lines += [OWN_IDS_ONLY] if path in ids else []
    return "\n".join(lines) + "\n"


def test_the_api_answers_its_schema_under_fuzzing(tmp_path):
    database = f"sqlite://{tmp_path}/zentra.sqlite"
    server = Server(database, env={"ZENTRA_RATE_LIMIT": "0"})
    try:
        key = json.loads(zentra("tenant", "create", "fuzz", "--database", database).stdout)["api_key"]
        ids = seed(server, key)
        openapi = call(server.port, "GET", "/openapi.json")[2]
        (tmp_path / "schemathesis.toml").write_text(config(ids, openapi))
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(tmp_path / "schemathesis.toml"),
             "run", f"http://127.0.0.1:{server.port}/openapi.json", "--header", f"Authorization: Bearer {key}",
             "--checks", CHECKS, "--phases", "examples,coverage,fuzzing,stateful", "--seed", "20261205",
             "--max-time", str(SECONDS), "--workers", "1", "--no-color"] + os.environ.get("ZENTRA_SCHEMA_FUZZ_ARGS", "").split(),
            capture_output=True, text=True, timeout=SECONDS + 300, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
        report = result.stdout + result.stderr
        summary = report[report.rfind("SUMMARY"):]
        print(report[report.find("WARNINGS"):])
        assert result.returncode == 0, f"schemathesis found failures:\n{report[-20000:]}"
        assert "Failures:" not in summary and "Errors:" not in summary, summary
        # The schemas say what the server enforces: valid data it generates is not refused.
        assert "Schema validation mismatch" not in summary, report[report.find("WARNINGS"):]
        assert server.process.poll() is None, "the server is still up"
    finally:
        server.stop()
