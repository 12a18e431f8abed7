"""Schemathesis hooks of scripts/contract_test.sh.

They keep generated requests within the two rules of seclog's API that an OpenAPI document
cannot state (both are in the descriptions of the fields concerned):

- GET /v1/events: `start_time` must not be after `end_time` (a rule between two parameters);
- an event's `timestamp` must not be more than a day ahead of the server's clock (a bound
  relative to now);
- DELETE /v1/decisions: at least one of `ip`, `range`, `scope`, `value`, not `ip` with
  `range`, and with scope ip or range a `value` that is an address or network (rules between
  parameters).

A request that breaks neither is sent unchanged; one that breaks one is mended (the times
swapped, the timestamp moved to the same moment of the year 2000), so that every other part
of it, valid or not, still reaches the server.
"""

import ipaddress
from datetime import datetime, timedelta, timezone

import schemathesis

SKEW = timedelta(days=1)


def _parse(value):
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def _mend_timestamp(event):
    if not isinstance(event, dict):
        return
    ts = _parse(event.get("timestamp"))
    if ts is not None and ts > datetime.now(timezone.utc) + SKEW - timedelta(minutes=5):
        event["timestamp"] = "2000" + event["timestamp"][4:]


def _is_net(value):
    try:
        ipaddress.ip_network(str(value).strip(), strict=False)
        return True
    except ValueError:
        return False


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    method = case.method.upper()
    if method == "GET" and path == "/v1/events" and isinstance(case.query, dict):
        start, end = _parse(case.query.get("start_time")), _parse(case.query.get("end_time"))
        if start is not None and end is not None and start > end:
            case.query["start_time"], case.query["end_time"] = (
                case.query["end_time"],
                case.query["start_time"],
            )
    if method == "DELETE" and path == "/v1/decisions":
        q = case.query if isinstance(case.query, dict) else {}
        if "ip" in q and "range" in q:
            del q["range"]
        scope = str(q.get("scope", "")).strip().lower()
        if "value" in q and scope in ("ip", "range"):
            q["value"] = "192.0.2.1" if scope == "ip" else "192.0.2.0/24"
        if "range" in q and not _is_net(q["range"]):
            q["range"] = "192.0.2.0/24"
        if not any(k in q for k in ("ip", "range", "scope", "value")):
            q["ip"] = "192.0.2.1"
        case.query = q
    if method == "POST" and path == "/v1/events":
        _mend_timestamp(case.body)
    if method == "POST" and path == "/v1/events/batch" and isinstance(case.body, list):
        for item in case.body:
            _mend_timestamp(item)
