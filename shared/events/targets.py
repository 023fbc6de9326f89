"""Where webhooks may go (SSRF rules), and the resolver that enforces them at send time.

An endpoint URL must be https, and every address its host resolves to must be a public
unicast one: loopback, private, link-local (169.254.0.0/16 holds the cloud metadata
services), shared (CGNAT), multicast, reserved and unspecified addresses are refused, at
creation (422) and again at every connection (DNS rebinding). `allow_private`
(BILLING_WEBHOOK_ALLOW_PRIVATE=true) lifts both rules, and admits plain http: local runs
and tests only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from shared.domain.errors import Invalid

RESOLVE_TIMEOUT_SECONDS = 5.0

# The documented shape of a target: https, a host name (no IP literal, no localhost), an
# optional port, a path. Where the name resolves is checked by the service (422 if private).
_PORT = r"(?::(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}))?"
URL_PATTERN = (
    r"^https://(?![0-9.]*(?:[:/?#]|$))(?!localhost(?:[.:/?#]|$))[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*" + _PORT + r"(?:[/?#][\x21-\x7e]*)?$"
)


class Refused(Exception):
    """A target address the rules do not allow."""


def refused_address(address: str) -> str | None:
    """Why `address` may not be a webhook target, or None if it may."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if ip.is_private or ip in ipaddress.ip_network("100.64.0.0/10"):
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "a non-public address"
    return None


def parse(url: str, allow_private: bool) -> tuple[str, int]:
    """The host and port of an acceptable URL; Invalid otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Invalid(f"url is not a valid URL: {error}", field="url") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise Invalid("url must use https", field="url")
    if not parts.hostname:
        raise Invalid("url needs a host", field="url")
    if parts.username or parts.password:
        raise Invalid("url may not carry credentials", field="url")
    if any(c.isspace() for c in url):
        raise Invalid("url may not contain whitespace", field="url")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_url(url: str, allow_private: bool) -> None:
    """422 unless `url` is an acceptable webhook target: https to a host name (no IP literal,
    no localhost) that does not resolve, now, to a refused address. A name that does not
    resolve yet is accepted: every connection checks again."""
    host, port = parse(url, allow_private)
    if allow_private:
        return
    if not re.match(URL_PATTERN, url):
        raise Invalid("url must be https://<host name>[:port][/path] (no IP literal, no localhost)", field="url")
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return
    for info in infos:
        reason = refused_address(str(info[4][0]))
        if reason is not None:
            raise Invalid(f"url: {host!r} resolves to {reason}, which webhooks may not target", field="url")


class SafeResolver(AbstractResolver):
    """aiohttp's resolver, refusing the addresses webhooks may not reach (checked at every
    connection, so a name that re-resolves to a private address is caught)."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for entry in found:
                reason = refused_address(entry["host"])
                if reason is not None:
                    raise Refused(f"{host} resolves to {reason}")
        return found

    async def close(self) -> None:
        await self._inner.close()
