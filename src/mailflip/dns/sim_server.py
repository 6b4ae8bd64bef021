"""`mailflip sim dns`: a local authoritative DNS server (dnslib) for the order's
domains, over UDP and TCP, answering from the zone files in a directory (dns/zones.py)
as they are when asked: `mailflip sim dns set ...` takes effect on the next query.

Inside a zone, a name without records is NXDOMAIN and a name with records of other
types NOERROR with no answer; a name in no zone is REFUSED (authoritative only).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from mailflip.dns import zones as zonefiles


class ZoneResolver:
    """dnslib's resolver interface over the zone directory, reloaded when a file changes."""

    def __init__(self, zones: Path) -> None:
        self.zones = zones
        self._lock = threading.Lock()
        self._seen: tuple[tuple[str, int, int], ...] = ()
        self._records: dict[str, list[Any]] = {}  # zone -> dnslib RRs
        self.queries = 0

    def _current(self) -> dict[str, list[Any]]:
        from dnslib import RR

        files = zonefiles.zone_files(self.zones)
        stamp = tuple(sorted((z, p.stat().st_mtime_ns, p.stat().st_size)
                             for z, p in files.items()))
        with self._lock:
            if stamp != self._seen:
                self._records = {z: [rr for r in zonefiles.read_zone(p)
                                     for rr in RR.fromZone(r.line())]
                                 for z, p in files.items()}
                self._seen = stamp
            return self._records

    def resolve(self, request: Any, handler: Any) -> Any:
        from dnslib import QTYPE, RCODE

        self.queries += 1
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = request.q.qtype
        records = self._current()
        zone = next((z for z in records if qname == z or qname.endswith("." + z)), None)
        if zone is None:
            reply.header.rcode = RCODE.REFUSED
            return reply
        reply.header.aa = 1
        at_name = [rr for rr in records[zone]
                   if str(rr.rname).rstrip(".").lower() == qname]
        if not at_name:
            reply.header.rcode = RCODE.NXDOMAIN
        for rr in at_name:
            if rr.rtype == qtype or qtype == QTYPE.ANY or (
                    rr.rtype == QTYPE.CNAME and qtype != QTYPE.CNAME):
                reply.add_answer(rr)
        return reply


class SimDns:
    """The server on `host:port`, UDP and TCP, in threads: `start()`, `stop()`."""

    def __init__(self, zones: Path, host: str = "127.0.0.1", port: int = 8053) -> None:
        from dnslib.server import DNSLogger, DNSServer

        self.resolver = ZoneResolver(zones)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data")
        self._servers = [DNSServer(self.resolver, address=host, port=port, tcp=tcp,
                                   logger=quiet) for tcp in (False, True)]
        self.address = f"{host}:{port}"

    def start(self) -> SimDns:
        for server in self._servers:
            server.start_thread()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
            server.server.server_close()
