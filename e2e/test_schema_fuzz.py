"""The API fuzzed against its own schema by schemathesis, a tool we did not write.

All four phases (examples, coverage, fuzzing, stateful: the OpenAPI `links` of openapi.yaml let it
create customers, accounts, programs, cards, authorizations and work on them) with the checks
not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance, a fixed seed and a time budget: ZENTRA_SCHEMA_FUZZ_SECONDS (default
150; docs/reliability.md gives the longer run). Before it starts, one object of each kind exists and
its id is the one the routes naming that kind are given, so the fuzzer reaches real objects rather
than 404s."""
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
    deposit = post(server, key, "/accounts/%s/deposits" % account["id"], {"amount_minor": 10_000_000, "transaction_reference": "seed"})
    ids["/ledger/journal-entries"], ids["/runtime/intents"] = deposit["journal_entry"], deposit["intent"]
    program = post(server, key, "/card-programs", {"name": "P", "currency": "USD", "bin": "42424242",
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
    ids["/api-keys"] = post(server, key, "/api-keys", {"role": "readonly"})["id"]
    ids["/events"] = call(server.port, "GET", "/events", key=key)[2]["data"][0]["id"]
    ids["/ledger/accounts"] = call(server.port, "GET", "/ledger/accounts", key=key)[2]["data"][0]["id"]
    return ids


def config(ids, openapi):
    """schemathesis.toml: the seeded ids by route, and the seeded references in bodies."""
    lines = ['hooks = "schemathesis_hooks"', '', '[parameters]']
    for field, collection in [("customer", "/customers"), ("account", "/accounts"), ("program", "/card-programs"),
                              ("card", "/cards"), ("authorization", "/authorizations"), ("transaction", "/transactions")]:
        lines.append(f'"body.{field}" = "{ids[collection]}"')
    for path, item in openapi["paths"].items():
        match = re.match(r"^(/.+?)/\{id\}", path)
        if not match:
            continue
        # A method's own object first: schemathesis takes the first entry that matches.
        for method in item:
            if f"{method.upper()} {path}" in ids:
                lines += ["", "[[operations]]", f'include-path = "{path}"', f'include-method = "{method.upper()}"',
                          f'parameters = {{ "path.id" = "{ids[f"{method.upper()} {path}"]}" }}']
        lines += ["", "[[operations]]", f'include-path = "{path}"', f'parameters = {{ "path.id" = "{ids[path] if path in ids else ids[match.group(1)]}" }}']
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
        assert server.process.poll() is None, "the server is still up"
    finally:
        server.stop()
