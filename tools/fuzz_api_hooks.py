"""Schemathesis hooks for `make fuzz-api` (tools/fuzz-api.sh).

Credentials. Every operation of openapi.yaml names one security scheme: `session` operations
get a dashboard session (a JWT), `apiKey` operations an API key of the service. FUZZ_IDENTITY
says who calls: `agent` (an agent's session and a User key) or `admin` (an administrator's
session and an Admin key); the script runs once as each, so that a stateful scenario keeps one
caller from its create to its delete. Schemathesis itself removes or replaces the credentials
for its negative cases and for the ignored_auth check. The credentials come from the
environment (set by tools/fuzz-api.sh) and are never printed.

The secret scanning route. POST /v1/secret-scanning/github names no scheme (`security: []`): it
is authenticated by GitHub's ECDSA signature over the raw body, which only the key published at
SecretScanningKeysUrl can make (locally, the local run's own). No case carries one that verifies,
so every case there must be answered with a 4xx problem document the document describes (401
for a missing, unknown or wrong signature, 413, 415) and change nothing; schemathesis's warning
that the operation returned only 401 responses is that rule holding, not missing credentials.

What a schema cannot say. Two rules of the API depend on state, not on the shape of a value:
a `cursor` is valid only as the API issued it (for the same caller and filters), and
`expiresAt` must lie in the future. A schema-valid request breaking one of them is refused with
400 by design, so a positive case here carries only a cursor the API issued for the same request
(or none) and an expiry in the future. Negative cases are sent as generated.

Undeclared methods. API Gateway answers a method no route serves with 404 {"message":"Not
Found"}, not 405 (an HTTP API has no notion of a path without its method). The check
`undeclared_method_not_routed` holds the API to that, in place of schemathesis's
unsupported_method, which tools/fuzz-api.sh leaves out. OPTIONS is left alone: with the
template's CorsConfiguration, API Gateway answers preflight requests itself, which the local
API does not emulate.
"""

import datetime
import json
import os
import re
import threading

import schemathesis
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario

IDENTITY = os.environ.get("FUZZ_IDENTITY", "agent")
CREDENTIALS = {
    "agent": {"session": os.environ["FUZZ_AGENT_SESSION"], "apiKey": os.environ["FUZZ_USER_KEY"]},
    "admin": {"session": os.environ["FUZZ_ADMIN_SESSION"], "apiKey": os.environ["FUZZ_ADMIN_KEY"]},
}[IDENTITY]


def schemes(operation):
    """The security schemes the operation accepts, in the document's order."""
    security = operation.definition.raw.get("security")
    if security is None:
        security = operation.schema.raw_schema.get("security", [])
    return [name for requirement in security for name in requirement]


@schemathesis.auth(refresh_interval=None)
class SchemeAuth:
    def get(self, case, context):
        for name in schemes(context.operation):
            if name in CREDENTIALS:
                return CREDENTIALS[name]
        return None

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def is_positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


# Cursors the API issued, by the request that got them: what a next page may be asked with.
_issued = {}
_issued_lock = threading.Lock()


def _cursor_scope(case):
    """What a cursor is bound to: the operation, its path, the caller and the other filters."""
    query = {k: v for k, v in (case.query or {}).items() if k not in ("cursor", "limit")}
    auth = (case.headers or {}).get("Authorization")
    return (case.operation.label, json.dumps(case.path_parameters or {}, sort_keys=True), auth,
            json.dumps(query, sort_keys=True, default=str))


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code != 200:
        return
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("nextCursor"), str):
        with _issued_lock:
            _issued.setdefault(_cursor_scope(case), set()).add(body["nextCursor"])


# RFC 3339 as the API reads it (Go's time.RFC3339): the year is the first four digits.
_YEAR = re.compile(r"^\d{4}")


def _future(value):
    """value with its year moved on past now, when it is an RFC 3339 time not in the future."""
    try:
        at = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return value
    if at.tzinfo is None:
        return value
    now = datetime.datetime.now(datetime.timezone.utc)
    if at > now + datetime.timedelta(minutes=5):
        return value
    return _YEAR.sub(str(now.year + 10), value, count=1)


@schemathesis.hook
def before_call(context, case, kwargs):
    if not is_positive(case):
        return
    query = case.query
    if query and "cursor" in query:
        with _issued_lock:
            issued = query["cursor"] in _issued.get(_cursor_scope(case), ())
        if not issued:
            del query["cursor"]
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("expiresAt"), str):
        body["expiresAt"] = _future(body["expiresAt"])


def _routed(document, method, path):
    """Whether another operation of the document serves method on path (POST /v1/hooks/events is
    POST /v1/hooks/{source} with the source `events`)."""
    for template, item in document.get("paths", {}).items():
        if method.lower() not in item:
            continue
        rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(rx, path):
            return True
    return False


@schemathesis.check
def undeclared_method_not_routed(ctx, response, case):
    """A method the document does not declare on a path reaches no route: API Gateway's 404.
    (Unless another path of the document serves it.)"""
    meta = case.meta
    if meta is None or not isinstance(meta.phase.data, CoveragePhaseData):
        return None
    if meta.phase.data.scenario != CoverageScenario.UNSPECIFIED_HTTP_METHOD:
        return None
    method = response.request.method
    if method == "OPTIONS" or _routed(case.operation.schema.raw_schema, method, case.formatted_path):
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 404 or body != {"message": "Not Found"}:
        raise AssertionError(
            f"{method} {case.formatted_path} is no route of the API: expected API Gateway's 404 "
            f'{{"message":"Not Found"}}, got {response.status_code} {response.text[:200]!r}'
        )
    return None
