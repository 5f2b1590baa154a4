"""Authorizations through two `zentra serve` processes on one PostgreSQL database: racing decisions
on one card never overspend its funds or its daily limit, and a replay through the other process
answers the first decision."""
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from conftest import Server, call, zentra


def funded_card(port, key, program, amount):
    status, _, customer = call(port, "POST", "/customers", {"name": "Ada", "email": "ada@example.com", "kyc_status": "verified"}, key)
    assert status == 201, customer
    _, _, account = call(port, "POST", "/accounts", {"customer": customer["id"], "currency": "USD"}, key)
    status, _, _ = call(port, "POST", f"/accounts/{account['id']}/deposits", {"amount_minor": amount, "transaction_reference": str(uuid.uuid4())}, key)
    assert status == 201
    status, _, card = call(port, "POST", "/cards", {"customer": customer["id"], "account": account["id"], "program": program, "type": "virtual"}, key)
    assert status == 201, card
    status, _, funding = call(port, "POST", f"/cards/{card['id']}/fund", {"amount_minor": amount, "transaction_reference": str(uuid.uuid4())}, key)
    assert status == 201, funding
    return card["id"]


def authorize(port, key, card, amount, reference=None):
    return call(port, "POST", "/authorizations", {
        "card": card, "amount_minor": amount, "currency": "USD", "channel": "online",
        "merchant": {"id": "m_1", "name": "Shop", "mcc": "5411", "country": "US"},
        "network_reference": reference or str(uuid.uuid4())}, key)


def test_racing_authorizations_through_two_processes_are_exact(postgres):
    first, second = Server(postgres.url), Server(postgres.url)
    try:
        admin = json.loads(zentra("tenant", "create", "acme", "--database", postgres.url).stdout)["api_key"]
        _, _, network = call(first.port, "POST", "/api-keys", {"role": "network"}, admin)
        network = network["api_key"]
        _, _, plain = call(first.port, "POST", "/card-programs", {"name": "Plain", "currency": "USD", "bin": "424242"}, admin)
        _, _, daily = call(first.port, "POST", "/card-programs", {"name": "Daily", "currency": "USD", "bin": "424243",
                                                                  "spend_controls": {"daily_minor": 500}}, admin)
        funds_bound = funded_card(first.port, admin, plain["id"], 1_000)
        limit_bound = funded_card(second.port, admin, daily["id"], 100_000)

        for card, approvals in [(funds_bound, 10), (limit_bound, 5)]:
            with ThreadPoolExecutor(max_workers=16) as pool:
                answers = list(pool.map(lambda i: authorize((first, second)[i % 2].port, network, card, 100), range(40)))
            statuses = [body["status"] for status, _, body in answers if status == 201]
            assert len(statuses) == 40, answers
            assert statuses.count("approved") == approvals
            assert statuses.count("declined") == 40 - approvals
            _, _, state = call(second.port, "GET", f"/cards/{card}", key=admin)
            assert state["held_minor"] == approvals * 100

        _, _, state = call(first.port, "GET", f"/cards/{funds_bound}", key=admin)
        assert state["available_minor"] == 0

        status, _, decided = authorize(first.port, network, funds_bound, 100, reference="nw-replayed")
        assert status == 201 and decided["status"] == "declined" and decided["decline_reason"] == "insufficient_funds"
        status, _, replayed = authorize(second.port, network, funds_bound, 100, reference="nw-replayed")
        assert status == 201 and replayed == decided

        _, _, verification = call(second.port, "GET", "/audit-log/verify", key=admin)
        assert verification["valid"] is True
    finally:
        first.stop()
        second.stop()
