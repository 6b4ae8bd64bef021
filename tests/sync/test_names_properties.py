"""Folder name mapping: modified UTF-7, delimiters, roles, collisions (hypothesis + examples)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailflip.sync.names import decode_name, encode_name, plan_folder_map, role_of, source_parts
from mailflip.sync.stores.base import FolderRef

level = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\r\n"),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip() and s.upper() != "INBOX")
paths = st.lists(
    st.lists(level, min_size=1, max_size=3).map(tuple), min_size=1, max_size=12, unique=True
)


def _refs(paths, delim="/", prefix="", flags=frozenset()):
    return [FolderRef(encode_name(prefix + delim.join(p)), delim, flags) for p in paths]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_modified_utf7_round_trips_and_is_ascii(name):
    wire = encode_name(name)
    assert wire.isascii()
    assert decode_name(wire) == name


@settings(max_examples=200)
@given(paths, st.sampled_from(["/", ".", "\\"]))
def test_mapping_is_injective_up_to_case_and_keeps_levels(folder_paths, target_delim):
    refs = _refs(folder_paths)
    mapping = plan_folder_map(refs, "", [], target_delim, "", {})
    assert set(mapping) == {r.wire for r in refs}
    decoded = [decode_name(v) for v in mapping.values()]
    assert len({d.casefold() for d in decoded}) == len(decoded)  # no two folders merge
    for ref in refs:
        parts = source_parts(ref, "")
        target_parts = decode_name(mapping[ref.wire]).split(target_delim)
        assert len(target_parts) == len(parts) or role_of(
            ref, parts
        )  # hierarchy kept (roles aside)


@settings(max_examples=100)
@given(paths)
def test_mapping_is_stable_given_the_stored_map(folder_paths):
    refs = _refs(folder_paths)
    first = plan_folder_map(refs, "", [], "/", "", {})
    known = dict(list(first.items())[: len(first) // 2])
    assert plan_folder_map(refs, "", [], "/", "", known) == first or all(
        plan_folder_map(refs, "", [], "/", "", known)[k] == v for k, v in known.items()
    )


def test_courier_prefix_and_dot_delimiter_become_a_slash_tree():
    refs = [
        FolderRef("INBOX", ".", frozenset()),
        FolderRef("INBOX.Work", ".", frozenset()),
        FolderRef("INBOX.Work.a/b", ".", frozenset()),
    ]
    mapping = plan_folder_map(refs, "INBOX.", [], "/", "", {})
    assert mapping == {"INBOX": "INBOX", "INBOX.Work": "Work", "INBOX.Work.a/b": "Work/a_b"}


def test_special_use_by_attribute_beats_localized_names():
    refs = [
        FolderRef("[Google Mail]/Gesendet", "/", frozenset({"\\Sent", "\\HasNoChildren"})),
        FolderRef("Sent", "/", frozenset()),
    ]
    targets = [FolderRef("Gesendete Elemente", "/", frozenset({"\\Sent"}))]
    mapping = plan_folder_map(refs, "", targets, "/", "", {})
    assert mapping["[Google Mail]/Gesendet"] == encode_name("Gesendete Elemente")
    assert mapping["Sent"] == "Sent"  # the role is taken: keeps its own name, no merge


def test_case_only_collisions_and_reserved_names_get_a_stable_suffix():
    refs = [
        FolderRef("Trash", "/", frozenset({"\\Trash"})),
        FolderRef("trash", "/", frozenset()),
        FolderRef("Files", "/", frozenset()),
    ]
    targets = [FolderRef("Trash", "/", frozenset({"\\Trash"}))]
    mapping = plan_folder_map(refs, "", targets, "/", "", {}, reserved=("Files",))
    assert mapping == {"Trash": "Trash", "trash": "trash (2)", "Files": "Files (2)"}
    assert (
        plan_folder_map(list(reversed(refs)), "", targets, "/", "", {}, reserved=("Files",))
        == mapping
    )
