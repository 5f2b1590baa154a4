"""schemathesis hooks for e2e/test_schema_fuzz.py.

A client makes a new idempotency key for each new request; a generator left alone sends "0" with
every body it draws, and the server rightly answers 422 idempotency_key_reused to all but the first.
So every valid key a case carries (header, body field, or both, which must agree) is replaced by a
fresh one; invalid keys, which the fuzzer sends on purpose, are left as they are.

The same holds for the fields that name a fact once: a network never sends one network_reference
for two authorizations, nor one clearing_id for two clearings, and a client declares each intent
under its own intent_id. A valid value of those is made fresh too."""
import itertools
import re

import schemathesis

VALID = re.compile(r"^[!-~]{1,255}$")
TEXT = re.compile(r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$")
FRESH = (f"fuzz-{n}" for n in itertools.count())
NAMES_A_FACT = {("POST", "/authorizations"): "network_reference", ("POST", "/clearings"): "clearing_id",
                ("POST", "/runtime/intents"): "intent_id"}


def valid(value):
    return isinstance(value, str) and VALID.match(value) is not None


def fresh_fact(case):
    field = NAMES_A_FACT.get((case.method.upper(), case.path))
    value = case.body.get(field) if field and isinstance(case.body, dict) else None
    if isinstance(value, str) and len(value) <= 128 and TEXT.match(value):
        case.body[field] = next(FRESH)


@schemathesis.hook
def before_call(context, case, kwargs):
    fresh_fact(case)
    body_key = case.body.get("idempotency_key") if isinstance(case.body, dict) else None
    header_name = next((name for name in case.headers or {} if name.lower() == "idempotency-key"), None)
    header_key = case.headers[header_name] if header_name else None
    if not valid(body_key) and not valid(header_key) or (body_key is not None and not valid(body_key)) \
            or (header_key is not None and not valid(header_key)):
        return
    key = next(FRESH)
    if body_key is not None:
        case.body["idempotency_key"] = key
    if header_key is not None:
        case.headers[header_name] = key
