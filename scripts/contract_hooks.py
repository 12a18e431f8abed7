"""Schemathesis hooks of scripts/contract_test.sh.

They keep generated requests within the two rules of seclog's API that an OpenAPI document
cannot state (both are in the descriptions of the fields concerned):

- GET /v1/events: `start_time` must not be after `end_time` (a rule between two parameters);
- an event's `timestamp` must not be more than a day ahead of the server's clock (a bound
  relative to now).

A request that breaks neither is sent unchanged; one that breaks one is mended (the times
swapped, the timestamp moved to the same moment of the year 2000), so that every other part
of it, valid or not, still reaches the server.
"""

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
    if method == "POST" and path == "/v1/events":
        _mend_timestamp(case.body)
    if method == "POST" and path == "/v1/events/batch" and isinstance(case.body, list):
        for item in case.body:
            _mend_timestamp(item)
