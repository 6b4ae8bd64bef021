"""The sync engine's FETCH parser gives what imapclient's general parser gives."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from imapclient.response_parser import parse_fetch_response

from mailflip.sync.stores import fetch
from mailflip.sync.stores.fetch import parse_fetch

flag = st.sampled_from([b"\\Seen", b"\\Flagged", b"\\Answered", b"\\Draft", b"\\Deleted",
                        b"$Forwarded", b"$Label1", b"NonJunk", b"\\Recent", b"$MDNSent"])
date = st.builds(
    lambda d, m, y, hh, mm, ss, sign, oh, om: (
        f"{d:2d}-{m}-{y} {hh:02d}:{mm:02d}:{ss:02d} {sign}{oh:02d}{om:02d}").encode(),
    st.integers(1, 28), st.sampled_from(["Jan", "Feb", "Jun", "Oct", "Dec"]),
    st.integers(1990, 2030), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
    st.sampled_from("+-"), st.integers(0, 14), st.sampled_from([0, 30, 45]))
header = st.binary(max_size=60).map(lambda b: b"Message-ID: <" + b.replace(b"\r", b"") + b">\r\n")


@st.composite
def response(draw: st.DrawFn, seq: int, uid: int) -> list[object]:
    """One message's FETCH as imaplib hands it over: literals split the line into
    (line, literal) pairs, the rest of the line follows."""
    items: list[bytes | tuple[bytes, bytes]] = [b"UID %d" % uid]
    if draw(st.booleans()):
        items.append(b"FLAGS (" + b" ".join(draw(st.lists(flag, max_size=4, unique=True))) + b")")
    if draw(st.booleans()):
        items.append(b"RFC822.SIZE %d" % draw(st.integers(0, 10**9)))
    if draw(st.booleans()):
        items.append(b'INTERNALDATE "' + draw(date) + b'"')
    for section in draw(st.lists(st.sampled_from(
            [b"BODY[HEADER.FIELDS (MESSAGE-ID)]", b"BODY[]", b"BODY[TEXT]<0>"]), max_size=2,
            unique=True)):
        form = draw(st.sampled_from(["literal", "quoted", "nil"]))
        if form == "literal":
            items.append((section, draw(header | st.binary(max_size=200))))
        elif form == "quoted":
            items.append(section + b' "' + draw(st.sampled_from([b"", b"a b", b'say \\"hi\\"']))
                         + b'"')
        else:
            items.append(section + b" NIL")
    items = draw(st.permutations(items))
    out: list[object] = []
    line = b"%d (" % seq
    for i, item in enumerate(items):
        sep = b"" if i == 0 else b" "
        if isinstance(item, tuple):
            section, literal = item
            out.append((line + sep + section + b" {%d}" % len(literal), literal))
            line = b""
        else:
            line += sep + item
    out.append(line + b")")
    return out


@st.composite
def fetch_data(draw: st.DrawFn) -> list[object]:
    data: list[object] = []
    uids = draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=5, unique=True))
    for seq, uid in enumerate(uids, start=1):
        data += draw(response(seq, uid))
    return data


def _same(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for uid, items in ours.items():
        assert items.keys() == theirs[uid].keys()
        for key, value in items.items():
            if isinstance(value, datetime):  # an equal instant and offset, another tz class
                assert (value, value.utcoffset()) == (theirs[uid][key],
                                                      theirs[uid][key].utcoffset())
            else:
                assert value == theirs[uid][key], key


@settings(max_examples=300, deadline=None)
@given(fetch_data())
def test_the_fast_parser_agrees_with_imapclient(data):
    _same(fetch._parse(data), dict(parse_fetch_response(data, False, True)))


def test_what_the_fast_parser_does_not_know_goes_to_imapclient():
    envelope = [b'1 (UID 9 ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "hi" NIL NIL NIL NIL '
                b'NIL NIL NIL "<a@b>") FLAGS (\\Seen))']
    assert parse_fetch(envelope) == dict(parse_fetch_response(envelope, False, True))
    assert parse_fetch(envelope)[9][b"FLAGS"] == (b"\\Seen",)
    assert parse_fetch([None]) == {}
