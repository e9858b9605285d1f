"""Name helpers: target ids from free text, error messages, version keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_storage_nb import StorageNameError, check_id, target_id_from_text
from perf_storage_nb.versions import new_version_key, parse_version_key, version_pattern


def test_target_id_from_url_is_readable_and_valid() -> None:
    tid = target_id_from_text("https://example.com/page1?x=1")
    assert tid.startswith("example_com_page1_x_1-")
    assert check_id(tid, "target_id") == tid


def test_target_ids_do_not_collide_where_the_original_did() -> None:
    # The original mapped all of these to 'example_com_page1'.
    texts = [
        "example.com/page1",
        "example_com/page1",
        "example com page1",
        "https://example.com/page1",
        "https://example.com/page1?x=2",
        "HTTPS://EXAMPLE.COM/page1",
    ]
    ids = [target_id_from_text(t) for t in texts]
    assert len(set(ids)) == len(ids)
    assert target_id_from_text("example.com/page1") == ids[0]  # deterministic


@settings(max_examples=300, deadline=None)
@given(text=st.text(min_size=1, max_size=300))
def test_target_id_from_any_text_is_valid(text: str) -> None:
    tid = target_id_from_text(text)
    assert check_id(tid, "target_id") == tid
    assert len(tid) <= 64


def test_target_id_from_text_rejects_empty() -> None:
    with pytest.raises(StorageNameError):
        target_id_from_text("")


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("", "empty"),
        (".", "'.'"),
        ("..", "'..'"),
        ("a/b", "'/'"),
        ("a b", "' '"),
        (".hidden", "starts with '.'"),
        ("x" * 101, "at most 100"),
        (3, "must be a str"),
    ],
)
def test_id_errors_say_what_and_what_is_allowed(bad: object, fragment: str) -> None:
    with pytest.raises(StorageNameError) as err:
        check_id(bad, "session_id")
    assert fragment in str(err.value)
    assert "session_id" in str(err.value)


def test_version_keys() -> None:
    when = datetime(2026, 1, 11, 10, 15, 0, 123456, tzinfo=UTC)
    assert new_version_key("results/metrics.json", when) == "results/metrics__20260111T101500123456Z.json"
    assert new_version_key("report", when) == "report__20260111T101500123456Z"
    keys = [new_version_key("results/metrics.json") for _ in range(1000)]
    assert len(set(keys)) == 1000 and keys == sorted(keys)  # unique and ordered within a process
    pattern = version_pattern("results/metrics.json")
    assert all(pattern.fullmatch(k) for k in keys)
    assert not pattern.fullmatch("results/metrics_other__20260111T101500123456Z.json")
    assert parse_version_key(keys[0]) and re.fullmatch(r"\d{8}T\d{12}Z", parse_version_key(keys[0]) or "")
    assert parse_version_key("results/metrics.json") is None


@pytest.mark.parametrize("max_len", [1, 5, 12, 64, 100, 200])
def test_target_id_length_is_clamped_to_a_valid_id(max_len: int) -> None:
    tid = target_id_from_text("https://example.com/" + "x" * 300, max_len=max_len)
    assert check_id(tid, "target_id") == tid
    assert len(tid) <= max(12, min(max_len, 100))
