"""The console's rendering helpers: views of bytes (text, JSON, hex), input parsing, times, paging."""

from __future__ import annotations

import pytest

from kbroker.console import render


def test_utf8_text_is_text_and_hex():
    v = render.render_bytes("héllo".encode())
    assert v == {"null": False, "size": 6, "truncated": False, "text": "héllo", "json": None,
                 "hex": "68 c3 a9 6c 6c 6f", "auto": "text"}


def test_json_object_is_pretty_printed_and_auto_picks_json():
    v = render.render_bytes(b'{"a":1,"b":[true,null]}')
    assert v["auto"] == "json"
    assert v["json"] == '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}'
    assert v["text"] == '{"a":1,"b":[true,null]}'


@pytest.mark.parametrize("raw, is_json", [(b"42", True), (b"-1.5", True), (b"true", True), (b'"s"', True),
                                          (b"hello", False), (b"12abc", False), (b"{broken", False),
                                          (b"", False), (b"  ", False)])
def test_json_only_when_the_whole_text_parses(raw, is_json):
    assert (render.render_bytes(raw)["json"] is not None) is is_json


def test_binary_is_hex_only():
    v = render.render_bytes(b"\x00\xff\xfe")
    assert v["text"] is None and v["json"] is None and v["hex"] == "00 ff fe" and v["auto"] == "hex"


def test_null_and_empty_differ():
    assert render.render_bytes(None)["null"] is True
    empty = render.render_bytes(b"")
    assert empty["null"] is False and empty["text"] == "" and empty["size"] == 0


def test_big_values_are_cut_and_flagged():
    big = b"x" * (render.MAX_SHOWN + 10)
    v = render.render_bytes(big)
    assert v["truncated"] and v["size"] == render.MAX_SHOWN + 10 and len(v["text"]) == render.MAX_SHOWN
    assert v["json"] is None  # a cut document is not JSON


def test_a_cut_through_a_multibyte_character_is_still_text():
    data = b"a" * (render.MAX_SHOWN - 1) + "é".encode()  # é's second byte falls past the cut
    v = render.render_bytes(data)
    assert v["truncated"] and v["text"] == "a" * (render.MAX_SHOWN - 1)


def test_record_has_time_and_headers():
    r = render.render_record(2, 7, 1_700_000_000_123, None, b"v", [("h", b"1"), ("n", None)])
    assert r["time"] == "2023-11-14T22:13:20.123Z"
    assert r["key"]["null"] and r["value"]["text"] == "v"
    assert [h["key"] for h in r["headers"]] == ["h", "n"] and r["headers"][1]["value"]["null"]


@pytest.mark.parametrize("text, encoding, expected", [
    ("hi", "text", b"hi"), ("", "text", b""), ('{ "a" : 1 }', "json", b'{"a":1}'),
    ("00 ff", "hex", b"\x00\xff"), ("x", "null", None),
])
def test_parse_input(text, encoding, expected):
    assert render.parse_input(text, encoding) == expected


@pytest.mark.parametrize("text, encoding", [("{", "json"), ("zz", "hex"), ("a", "base85")])
def test_parse_input_refuses_with_a_message(text, encoding):
    with pytest.raises(ValueError):
        render.parse_input(text, encoding)


def test_parse_time():
    assert render.parse_time("1700000000123") == 1_700_000_000_123
    assert render.parse_time("2023-11-14T22:13:20.123Z") == 1_700_000_000_123
    assert render.parse_time("2023-11-14T22:13:20.123") == 1_700_000_000_123  # no zone: UTC
    assert render.parse_time("2023-11-14T23:13:20.123+01:00") == 1_700_000_000_123
    with pytest.raises(ValueError):
        render.parse_time("yesterday")
    assert render.format_ms(-1) is None


def test_limits_are_bounded():
    assert render.clamp_limit(None) == 20
    assert render.clamp_limit(0) == 1
    assert render.clamp_limit(10**6) == render.MAX_LIMIT


def test_paging_in_the_middle():
    page = render.page_of(40, 20, 0, 100, list(range(40, 60)))
    assert (page.offset, page.prev, page.next) == (40, 20, 60)


def test_paging_at_the_edges():
    first = render.page_of(0, 20, 0, 15, list(range(0, 15)))
    assert (first.prev, first.next) == (None, None)
    near_start = render.page_of(5, 20, 0, 100, list(range(5, 25)))
    assert near_start.prev == 0
    below_earliest = render.page_of(3, 10, 50, 100, list(range(50, 60)))
    assert (below_earliest.offset, below_earliest.prev, below_earliest.next) == (50, None, 60)


def test_paging_across_gaps_uses_the_readers_position():
    # a compacted log: offsets 10, 14, 19 on the page, the reader stopped at 25 (control records)
    page = render.page_of(10, 3, 0, 100, [10, 14, 19], position=25)
    assert page.next == 25
    empty = render.page_of(10, 3, 0, 100, [], position=12)
    assert empty.next == 12
    assert render.page_of(10, 3, 0, 100, []).next is None
