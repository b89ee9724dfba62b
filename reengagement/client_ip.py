"""The address a request came from, for counting failed logins per address.

Behind proxies every request arrives from the nearest proxy, so REMOTE_ADDR alone would count
every login attempt in the world as one address. Each proxy appends the address it saw to
X-Forwarded-For; with ``TRUSTED_PROXY_COUNT`` proxies in front, the client is the entry that
many places from the end. Entries further left were written by the client and prove nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR", ""))
    count: int = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [hop for hop in forwarded if hop]
    if len(forwarded) < count:
        # Fewer hops than proxies: the request skipped a proxy; count it by what we can see.
        return remote
    return forwarded[-count]
