"""The DNS adapter (`MAILFLIP_DNS=resolver`): what the world's resolvers say about an
order's domains, asked with dnspython. `MAILFLIP_DNS_SERVER` (HOST or HOST:PORT, e.g.
`mailflip sim dns`'s 127.0.0.1:8053) names the server to ask; unset, the system's
resolvers (/etc/resolv.conf). A query that times out is asked again (`attempts`), then
fails as DnsUnavailable, which the activity's retry policy retries; a name that does not
exist or has no such record is an empty answer, not an error.
"""

from __future__ import annotations

from typing import Any

from mailflip.errors import InvalidInput


class DnsUnavailable(Exception):
    """No answer from the DNS (timeouts, SERVFAIL): retry later."""


def parse_server(value: str, field: str = "MAILFLIP_DNS_SERVER") -> tuple[str, int] | None:
    if not value.strip():
        return None
    host, sep, port = value.strip().rpartition(":")
    if not sep:
        host, port = port, "53"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(field, f"{value!r} is not HOST or HOST:PORT")
    return host, int(port)


class DnsResolver:
    def __init__(self, server: str = "", timeout_s: float = 3.0, attempts: int = 3, *,
                 field: str = "MAILFLIP_DNS_SERVER") -> None:
        """`field`: the setting or option `server` came from, named when it is bad."""
        import dns.asyncresolver

        where = parse_server(server, field)
        if where is None:
            self._resolver = dns.asyncresolver.Resolver()
        else:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [where[0]]
            self._resolver.port = where[1]
        self._resolver.timeout = self._resolver.lifetime = timeout_s
        self._attempts = max(1, attempts)
        self.described = f"DNS {server}" if server else "DNS (system resolver)"

    async def _ask(self, name: str, rtype: str) -> list[Any]:
        import dns.exception
        import dns.resolver

        for attempt in range(self._attempts):
            try:
                return list(await self._resolver.resolve(name, rtype))
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return []
            except dns.resolver.NoNameservers as exc:  # SERVFAIL / REFUSED everywhere
                raise DnsUnavailable(f"{rtype} {name}: no server answered ({exc})") from None
            except dns.exception.Timeout:
                if attempt + 1 == self._attempts:
                    raise DnsUnavailable(f"{rtype} {name}: timed out {self._attempts} "
                                         "times") from None
        return []  # not reached

    async def mx_hosts(self, domain: str) -> list[str]:
        """The domain's mail exchangers, most preferred first."""
        answers = await self._ask(domain, "MX")
        ordered = sorted(answers, key=lambda r: (r.preference, str(r.exchange)))
        return [str(r.exchange).rstrip(".").lower() for r in ordered]

    async def txt(self, name: str) -> list[str]:
        return [b"".join(r.strings).decode("utf-8", "replace")
                for r in await self._ask(name, "TXT")]

    async def cname(self, name: str) -> str | None:
        answers = await self._ask(name, "CNAME")
        return str(answers[0].target).rstrip(".").lower() if answers else None

    async def spf(self, domain: str) -> str | None:
        """The domain's SPF policy (its `v=spf1` TXT record), if it has one."""
        return next((t for t in await self.txt(domain) if t.lower().startswith("v=spf1")),
                    None)
