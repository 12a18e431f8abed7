"""Flask integration: block clients under an active decision, log error responses."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Dict, Iterable, Optional, Union
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from seclog._logger import SecurityLogger

_log = logging.getLogger("seclog")

#: Response status -> event type logged for it.
DEFAULT_STATUS_EVENTS: Dict[int, str] = {
    400: "input_validation_violation",
    401: "auth_failure",
    403: "authorization_failure",
    429: "rate_limiting_trigger",
}

_SECRET_PARAMS = (
    "password", "passwd", "pwd", "pass", "secret", "token", "access_token", "refresh_token",
    "id_token", "api_key", "apikey", "key", "auth", "authorization", "session", "sessionid",
    "session_id", "sid", "code", "otp", "signature", "sig", "card", "card_number", "cvv",
    "cvc", "pan", "ssn", "client_secret", "jwt", "cookie",
)

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def redact_url(url: str) -> str:
    """The URL with the values of secret-looking query parameters replaced by [REDACTED]
    (the engine redacts again before storage)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = []
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        low = k.lower()
        secret = any(low == s or low.endswith("_" + s) or low.startswith(s + "_") for s in _SECRET_PARAMS)
        pairs.append((k, "[REDACTED]" if secret else v))
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="[]")))


def _networks(trusted: Optional[Iterable[str]]) -> list:
    nets = []
    for item in trusted or ():
        try:
            nets.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError as e:
            raise ValueError(f"trusted_proxies: not an address or network: {item!r}") from e
    return nets


def _parse_ip(text: Optional[str]) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(remote_addr: Optional[str], forwarded_for: Optional[str], trusted: list) -> Optional[str]:
    """The client address: ``remote_addr``, unless it is a trusted proxy, in which case the
    right-most X-Forwarded-For entry that is not itself a trusted proxy."""
    remote = _parse_ip(remote_addr)
    if remote is None:
        return None
    if not trusted or not forwarded_for or not any(remote in n for n in trusted):
        return str(remote)
    for hop in reversed(forwarded_for.split(",")):
        ip = _parse_ip(hop)
        if ip is None:
            break  # a malformed hop: trust nothing further left
        if not any(ip in n for n in trusted):
            return str(ip)
    return str(remote)


def integrate_with_flask(
    app: Any,
    security_logger: SecurityLogger,
    trusted_proxies: Optional[Iterable[str]] = None,
    status_events: Optional[Dict[int, str]] = None,
    block_blocked_clients: bool = True,
    source: str = "flask",
) -> None:
    """Hooks the logger into a Flask app.

    * ``before_request``: a client whose IP is under an active block gets a JSON 403 before
      the view runs.
    * ``after_request``: 400/401/403/429 responses are logged as input_validation_violation /
      auth_failure / authorization_failure / rate_limiting_trigger with IP, user agent,
      method, URL (secrets redacted), status and ``flask.g.user_id`` when set — unless the
      request already logged an event through seclog (one failed login is one event).

    ``trusted_proxies``: addresses or networks whose X-Forwarded-For is believed.
    """
    from flask import g, jsonify, request

    trusted = _networks(trusted_proxies)
    mapping = dict(DEFAULT_STATUS_EVENTS if status_events is None else status_events)

    def _ip() -> Optional[str]:
        return client_ip(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)

    def _seclog_before_request() -> Any:
        g._seclog_logged = False
        if not block_blocked_clients:
            return None
        ip = _ip()
        if ip is not None and security_logger.is_blocked(ip):
            g._seclog_blocked = True
            resp = jsonify(error="forbidden", message="Access from this address is temporarily blocked.")
            resp.status_code = 403
            return resp
        return None

    def _seclog_after_request(response: Any) -> Any:
        event_type = mapping.get(response.status_code)
        if event_type is None or g.get("_seclog_logged") or g.get("_seclog_blocked"):
            return response
        event: Dict[str, Any] = {
            "event_type": event_type,
            "ip_address": _ip(),
            "user_agent": request.headers.get("User-Agent"),
            "request_method": request.method,
            "request_url": redact_url(request.url),
            "response_status": response.status_code,
            "source": source,
            "details": {"endpoint": request.endpoint, "path": request.path},
        }
        user_id = g.get("user_id")
        if user_id is not None:
            event["user_id"] = str(user_id)
        try:
            security_logger.log_event(event)
        except Exception as e:  # logging must never break the response
            _log.warning("seclog: could not log %s response: %s", response.status_code, e)
        return response

    app.before_request(_seclog_before_request)
    app.after_request(_seclog_after_request)
    app.extensions["seclog"] = security_logger
