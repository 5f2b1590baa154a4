"""schemathesis hooks for e2e/test_schema_fuzz.py.

A client makes a new idempotency key for each new request; a generator left alone sends "0" with
every body it draws, and the server rightly answers 422 idempotency_key_reused to all but the first.
So every valid key a case carries (header, body field, or both, which must agree) is replaced by a
fresh one; invalid keys, which the fuzzer sends on purpose, are left as they are."""
import itertools
import re

import schemathesis

VALID = re.compile(r"^[!-~]{1,255}$")
FRESH = (f"fuzz-{n}" for n in itertools.count())


def valid(value):
    return isinstance(value, str) and VALID.match(value) is not None


@schemathesis.hook
def before_call(context, case, kwargs):
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
