"""A local Microsoft 365 on this machine (`mailflip sim m365`): one tenant, its admin app,
a certificate to serve https with (msal signs in over https only), and the app's
credentials in a file for `mailflip orders credentials --kind tenant --file`.

Everything lives in one state directory and is reused on the next start, so that a
worker configured once keeps signing in. The secret is written to a file only the
owner can read and never printed.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import shlex
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from mailflip.errors import InvalidInput
from mailflip.tenant.permissions import EXCHANGE_PERMISSIONS, GRAPH_PERMISSIONS

from .config import AppConfig, Knobs, Resolver, SimulatorConfig, SkuConfig, TenantConfig, no_dns
from .persist import write_private

SKU = "O365_BUSINESS_PREMIUM"
SKU_ID = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"  # Microsoft 365 Business Standard's GUID


@dataclass(frozen=True)
class LocalM365:
    config: SimulatorConfig
    url: str  # login, Graph and Exchange Online are all served here
    cert: Path  # to trust (MAILFLIP_M365_CA_FILE)
    key: Path
    credentials: Path  # tenant_id, client_id, client_secret (YAML, mode 0600)
    state_file: Path  # the tenant as orders left it (JSON, mode 0600)
    imap_url: str = ""  # imaps://host:port of its mailboxes; "": not served

    @property
    def imap_port(self) -> int:
        return int(self.imap_url.rsplit(":", 1)[1]) if self.imap_url else 0

    @property
    def mail_dir(self) -> Path:
        """Where the mailboxes' Dovecot keeps its mail (kept across restarts)."""
        return self.state_file.parent / "imap"

    def app_credentials(self) -> dict[str, str]:
        """The admin app's tenant_id, client_id and client_secret, as the file holds them
        (and as an order's tenant credentials in the vault do)."""
        saved = yaml.safe_load(self.credentials.read_text())
        return {k: str(saved[k]) for k in ("tenant_id", "client_id", "client_secret")}

    def env_lines(self) -> list[str]:
        """Shell `export` lines for a tenant on this simulator: what the worker, the live
        contract suite and `mailflip tenant check` read. Holds the secret: the caller
        writes it to an owner-only file, never to a terminal."""
        creds = self.app_credentials()
        values = [line.split("=", 1) for line in self.settings_lines()]
        values += [["MAILFLIP_LIVE_TENANT", self.config.tenants[0].initial_domain],
                   ["MAILFLIP_M365_TENANT_ID", creds["tenant_id"]],
                   ["MAILFLIP_M365_CLIENT_ID", creds["client_id"]],
                   ["MAILFLIP_M365_CLIENT_SECRET", creds["client_secret"]]]
        return [f"export {name}={shlex.quote(value)}" for name, value in values]

    def settings_lines(self) -> list[str]:
        """The worker's settings that point it at this Microsoft 365."""
        return ["MAILFLIP_TENANT=graph", f"MAILFLIP_M365_LOGIN_URL={self.url}",
                f"MAILFLIP_M365_GRAPH_URL={self.url}", f"MAILFLIP_M365_EXO_URL={self.url}",
                f"MAILFLIP_M365_CA_FILE={self.cert}", f"MAILFLIP_M365_IMAP_URL={self.imap_url}"]


def prepare(state_dir: Path, host: str, port: int, *, initial_domain: str,
            licences: int, resolver: Resolver = no_dns, knobs: Knobs | None = None,
            imap_port: int = 0) -> LocalM365:
    """The tenant, certificate and credentials file in `state_dir` (made or reused);
    its mailboxes over IMAP on `imap_port` (0: none)."""
    if not initial_domain.endswith(".onmicrosoft.com") or initial_domain.count(".") != 2:
        raise InvalidInput("domain", f"{initial_domain!r} is not of the form "
                                             "<name>.onmicrosoft.com")
    if licences < 0:
        raise InvalidInput("licences", "must be 0 or more")
    state_dir.mkdir(parents=True, exist_ok=True)
    cert, key = state_dir / "cert.pem", state_dir / "key.pem"
    if not (cert.is_file() and key.is_file()):
        write_self_signed(cert, key, host)
    creds = _credentials(state_dir / "tenant.yaml", initial_domain)
    app = AppConfig(creds["client_id"], creds["client_secret"],
                    graph_permissions=GRAPH_PERMISSIONS,
                    exchange_permissions=EXCHANGE_PERMISSIONS)
    tenant = TenantConfig(creds["tenant_id"], initial_domain,
                          display_name=initial_domain.split(".")[0].title(),
                          skus=(SkuConfig(SKU, SKU_ID, licences),), apps=(app,))
    config = SimulatorConfig((tenant,), knobs or Knobs(), resolver,
                             token_key=_token_key(state_dir / "token.key"))
    return LocalM365(config, f"https://{host}:{port}", cert, key, state_dir / "tenant.yaml",
                     state_dir / "tenant-state.json",
                     f"imaps://{host}:{imap_port}" if imap_port else "")


def _credentials(path: Path, initial_domain: str) -> dict[str, str]:
    """The admin app's credentials: read back, or made once (ids stable per domain)."""
    if path.is_file():
        saved = yaml.safe_load(path.read_text())
        if isinstance(saved, dict) and saved.get("tenant_id") == _tenant_id(initial_domain):
            return {k: str(saved[k]) for k in ("tenant_id", "client_id", "client_secret")}
    creds = {"tenant_id": _tenant_id(initial_domain),
             "client_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"admin-app.{initial_domain}")),
             "client_secret": secrets.token_urlsafe(32)}
    write_private(path, yaml.safe_dump(creds).encode())
    return creds


def _token_key(path: Path) -> bytes:
    """The key tokens are signed with, kept so that tokens outlive a restart."""
    if path.is_file() and len(key := path.read_bytes()) == 32:
        return key
    key = secrets.token_bytes(32)
    write_private(path, key)
    return key


def _tenant_id(initial_domain: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, initial_domain))


def write_self_signed(cert_path: Path, key_path: Path, host: str, days: int = 365) -> None:
    """A self-signed certificate for `host` (an IP address or a name) and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        alt: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(host))]
    except ValueError:
        alt = [x509.DNSName(host)]
    alt.append(x509.DNSName("localhost"))
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))


def dns_resolver(address: str) -> Resolver:
    """TXT lookups at a DNS server `HOST:PORT` (the local `mailflip sim dns`, or any);
    a server that does not answer publishes nothing (the domain does not verify yet)."""
    from mailflip.dns.resolver import DnsResolver, DnsUnavailable

    resolver = DnsResolver(address, timeout_s=5.0, attempts=1, field="dns")

    async def txt(name: str) -> list[str]:
        try:
            return await resolver.txt(name)
        except DnsUnavailable:
            return []

    return txt
