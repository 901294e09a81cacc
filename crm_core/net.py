"""The client's network address, for everything that counts requests per address (the API's
throttles, the landing forms' rate limit) and for what records it (submissions, consent changes)."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_address(request) -> str | None:
    """The address the request came from: REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT proxies, the
    address the outermost of them saw (that many entries from the right of X-Forwarded-For).

    Entries further left are whatever the client wrote and are never used, so rotating the header
    changes nothing; with no trusted proxy (the default) the header is ignored. A header shorter
    than the proxy chain (a request that bypassed a proxy) falls back to REMOTE_ADDR.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies and _valid_ip(hops[-proxies]):
            return hops[-proxies]
    remote = request.META.get("REMOTE_ADDR") or ""
    return remote if _valid_ip(remote) else None
