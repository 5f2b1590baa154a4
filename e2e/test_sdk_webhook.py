"""The Swift SDK's `Webhook.verify` (through `zentra webhook verify`) against signatures made by the
stock Python `standardwebhooks` library: interoperable, and strict where it must be."""
import base64
import json
import os
import subprocess
from datetime import datetime, timedelta, timezone

from standardwebhooks import Webhook

from conftest import BINARY


def new_secret():
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


PAYLOAD = json.dumps({"id": "evt_1", "object": "event", "type": "card.issued", "sequence": 1,
                      "data": {"object": {"id": "card_1", "last4": "4242"}}})


def verify(secrets, headers, payload=PAYLOAD):
    args = [str(BINARY), "webhook", "verify"]
    for secret in secrets:
        args += ["--secret", secret]
    for name, value in headers.items():
        args += ["--header", f"{name}: {value}"]
    return subprocess.run(args, input=payload.encode(), capture_output=True, timeout=30)


def signed(secret, at=None, msg_id="evt_1", payload=PAYLOAD):
    at = at or datetime.now(timezone.utc)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, payload)}


def test_a_signature_made_by_standardwebhooks_verifies():
    secret = new_secret()
    result = verify([secret], signed(secret))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "verified"


def test_a_changed_body_another_secret_or_another_id_fails():
    secret = new_secret()
    headers = signed(secret)
    for secrets, hdrs, payload in [
        ([secret], headers, PAYLOAD.replace("4242", "4243")),
        ([new_secret()], headers, PAYLOAD),
        ([secret], {**headers, "webhook-id": "evt_2"}, PAYLOAD),
    ]:
        result = verify(secrets, hdrs, payload)
        assert result.returncode == 1 and b"noMatchingSignature" in result.stderr, result.stderr


def test_the_timestamp_must_be_within_five_minutes():
    secret = new_secret()
    now = datetime.now(timezone.utc)
    assert verify([secret], signed(secret, at=now - timedelta(minutes=4))).returncode == 0
    old = verify([secret], signed(secret, at=now - timedelta(minutes=6)))
    assert old.returncode == 1 and b"timestampTooOld" in old.stderr
    new = verify([secret], signed(secret, at=now + timedelta(minutes=6)))
    assert new.returncode == 1 and b"timestampTooNew" in new.stderr


def test_several_signatures_and_a_rotated_secret():
    old, new = new_secret(), new_secret()
    at = datetime.now(timezone.utc)
    both = signed(new, at=at)
    both["webhook-signature"] = " ".join([signed(old, at=at)["webhook-signature"], both["webhook-signature"]])
    assert verify([new], both).returncode == 0, "any of the signatures may match"
    assert verify([old], both).returncode == 0
    # A receiver that holds both secrets during the rotation accepts either.
    assert verify([new, old], signed(old)).returncode == 0
    assert verify([new, old], signed(new)).returncode == 0
    assert verify([new_secret()], both).returncode == 1
