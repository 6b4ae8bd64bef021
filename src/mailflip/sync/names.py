"""Folder names: modified UTF-7 at the edge, delimiter conversion, special-use roles.

Wire names (what the server sends, mUTF-7) are the keys everywhere; decoded
names are only used to compute target names. The computed map is persisted in
the ledger so a name never changes between passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from imapclient import imap_utf7

from mailflip.sync.stores.base import FolderRef

INBOX = "INBOX"
# role -> (name to create when the target has none, lower-cased common names incl. localized)
ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "\\Sent": (
        "Sent",
        frozenset(
            {
                "sent",
                "sent items",
                "sent messages",
                "sent mail",
                "gesendet",
                "gesendete elemente",
                "gesendete objekte",
                "envoyés",
                "éléments envoyés",
                "elementos enviados",
                "enviados",
                "posta inviata",
                "verzonden items",
            }
        ),
    ),
    "\\Drafts": (
        "Drafts",
        frozenset(
            {"drafts", "draft", "entwürfe", "brouillons", "borradores", "bozze", "concepten"}
        ),
    ),
    "\\Trash": (
        "Trash",
        frozenset(
            {
                "trash",
                "deleted items",
                "deleted messages",
                "bin",
                "papierkorb",
                "gelöschte elemente",
                "gelöschte objekte",
                "corbeille",
                "éléments supprimés",
                "papelera",
                "cestino",
            }
        ),
    ),
    "\\Junk": (
        "Junk",
        frozenset(
            {
                "junk",
                "spam",
                "junk e-mail",
                "junk email",
                "bulk mail",
                "junk-e-mail",
                "courrier indésirable",
                "correo no deseado",
                "posta indesiderata",
            }
        ),
    ),
    "\\Archive": ("Archive", frozenset({"archive", "archives", "archiv", "archivio", "archivo"})),
}
GMAIL_PARENTS = frozenset({"[gmail]", "[google mail]"})


def decode_name(wire: str) -> str:
    """mUTF-7 wire name -> unicode; a name that is not valid mUTF-7 is kept as is."""
    try:
        return str(imap_utf7.decode(wire.encode("latin-1")))
    except (UnicodeError, ValueError):
        return wire


def encode_name(name: str) -> str:
    return imap_utf7.encode(name).decode("ascii")


def source_parts(ref: FolderRef, prefix: str) -> tuple[str, ...]:
    """Hierarchy levels of a source folder, namespace prefix stripped, decoded."""
    if ref.wire.upper() == INBOX:
        return (INBOX,)
    name = decode_name(ref.wire)
    if prefix and name.startswith(prefix) and len(name) > len(prefix):
        name = name[len(prefix) :]
    parts = tuple(name.split(ref.delimiter)) if ref.delimiter else (name,)
    return parts


def path_of(ref: FolderRef, prefix: str) -> str:
    """The "/"-joined path include/exclude globs match against."""
    return "/".join(source_parts(ref, prefix))


def role_of(ref: FolderRef, parts: tuple[str, ...]) -> str | None:
    """SPECIAL-USE attribute first; else a common name at top level (or under [Gmail])."""
    lowered = {f.lower(): f for f in ref.flags}
    for role in ROLES:
        if role.lower() in lowered:
            return role
    top = len(parts) == 1 or (len(parts) == 2 and parts[0].lower() in GMAIL_PARENTS)
    if top:
        leaf = parts[-1].strip().lower()
        for role, (_, names) in ROLES.items():
            if leaf in names:
                return role
    return None


def selected(path: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    inc = list(include)
    if inc and not any(fnmatchcase(path, p) for p in inc):
        return False
    return not any(fnmatchcase(path, p) for p in exclude)


def _sanitize(part: str, delimiter: str) -> str:
    # A source level may contain the target's delimiter ("v1.2" onto a "." server):
    # keep it one level. Trailing spaces broke SELECT on Exchange.
    cleaned = part.replace(delimiter, "_").strip()
    return cleaned or "_"


def plan_folder_map(
    sources: list[FolderRef],
    source_prefix: str,
    targets: list[FolderRef],
    target_delimiter: str | None,
    target_prefix: str,
    known: Mapping[str, str],
    reserved: Iterable[str] = (),
) -> dict[str, str]:
    """Source wire name -> target wire name for every source folder.

    Injective up to case (no two source folders merge, "trash" and "Trash"
    never collapse), stable (entries of `known` are kept), special-use folders
    land in the target's own folder for that role.
    """
    delim = target_delimiter or "/"
    reserved_cf = {r.casefold() for r in reserved}
    target_roles: dict[str, tuple[str, ...]] = {}
    for ref in sorted(targets, key=lambda r: (0 if _has_attr_role(r) else 1, r.wire)):
        parts = source_parts(ref, target_prefix)
        role = role_of(ref, parts)
        if role and role not in target_roles:
            target_roles[role] = (
                tuple(decode_name(ref.wire).split(delim)) if ref.wire.upper() != INBOX else (INBOX,)
            )
    existing_cf = {decode_name(t.wire).casefold(): decode_name(t.wire) for t in targets}

    result: dict[str, str] = {}
    mapped_parts: dict[tuple[str, ...], tuple[str, ...]] = {}
    claimed: set[str] = {decode_name(w).casefold() for w in known.values()}
    roles_used = {
        role
        for ref in sources
        if ref.wire in known
        if (role := role_of(ref, source_parts(ref, source_prefix)))
    }
    # Each role goes to one source folder: a SPECIAL-USE attribute beats a common name.
    winners: dict[str, str] = {}
    candidates = sorted(
        (r for r in sources if r.wire not in known),
        key=lambda r: (0 if _has_attr_role(r) else 1, len(source_parts(r, source_prefix)), r.wire),
    )
    for ref in candidates:
        role = role_of(ref, source_parts(ref, source_prefix))
        target = _role_target(role, target_roles) if role else ()
        if (
            role
            and role not in roles_used
            and role not in winners
            and _free(target, delim, claimed)
        ):
            winners[role] = ref.wire
            claimed.add(delim.join(target).casefold())
    order = sorted(sources, key=lambda r: (len(source_parts(r, source_prefix)), r.wire))
    for ref in order:
        parts = source_parts(ref, source_prefix)
        if ref.wire in known:
            result[ref.wire] = known[ref.wire]
            mapped_parts[parts] = _unprefixed(decode_name(known[ref.wire]), target_prefix, delim)
            continue
        role = role_of(ref, parts)
        if parts == (INBOX,):
            tgt: tuple[str, ...] = (INBOX,)
        elif role and winners.get(role) == ref.wire:
            tgt = _role_target(role, target_roles)
        else:
            parent = mapped_parts.get(parts[:-1]) if len(parts) > 1 else ()
            base = parent if parent is not None else tuple(_sanitize(p, delim) for p in parts[:-1])
            tgt = base + (_sanitize(parts[-1], delim),)
            tgt = _avoid_collisions(tgt, delim, claimed, existing_cf, reserved_cf)
        full = delim.join(tgt)
        claimed.add(full.casefold())
        mapped_parts[parts] = tgt
        wire_name = full if tgt == (INBOX,) else target_prefix + full
        result[ref.wire] = encode_name(wire_name)
    return result


def _role_target(role: str, target_roles: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return target_roles.get(role) or (ROLES[role][0],)


def _free(tgt: tuple[str, ...], delim: str, claimed: set[str]) -> bool:
    return delim.join(tgt).casefold() not in claimed


def _has_attr_role(ref: FolderRef) -> bool:
    lowered = {f.lower() for f in ref.flags}
    return any(role.lower() in lowered for role in ROLES)


def _unprefixed(name: str, prefix: str, delim: str) -> tuple[str, ...]:
    if prefix and name.startswith(prefix):
        name = name[len(prefix) :]
    return tuple(name.split(delim))


def _avoid_collisions(
    tgt: tuple[str, ...],
    delim: str,
    claimed: set[str],
    existing_cf: Mapping[str, str],
    reserved_cf: set[str],
) -> tuple[str, ...]:
    """Deterministic rename: claimed by another source folder, a case-only twin of
    an existing target folder, or a reserved name -> add " (n)" to the leaf."""

    def clashes(candidate: tuple[str, ...]) -> bool:
        full = delim.join(candidate)
        cf = full.casefold()
        if cf in claimed or candidate[-1].casefold() in reserved_cf and len(candidate) == 1:
            return True
        twin = existing_cf.get(cf)
        return twin is not None and twin != full

    candidate, n = tgt, 1
    while clashes(candidate):
        n += 1
        candidate = tgt[:-1] + (f"{tgt[-1]} ({n})",)
    return candidate
