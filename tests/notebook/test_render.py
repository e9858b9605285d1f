"""Pure rendering: iframe sandbox, previews of every kind, text twins, escaping, display objects."""

from __future__ import annotations

import base64
import html
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from perf_storage_nb import MemoryStorage
from perf_storage_nb.diff import diff_values
from perf_storage_nb.display.frames import DEFAULT_HEIGHT, TRUST_HINT
from perf_storage_nb.display.text import short_labels
from perf_storage_nb.notebook.render import (
    KeyListing,
    RichText,
    StoredValue,
    human_size,
    iframe_srcdoc,
    image_type,
    json_tree_html,
    looks_like_html,
    markdown_html,
    preview_html,
    preview_text,
    tree_from_storage,
)

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
EVIL = "<script>alert('x')</script>\"'&"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def test_iframe_is_sandboxed_without_same_origin() -> None:
    page = "<html><body><script>parent.document.body.innerHTML=''</script>\"quotes\" & amps</body></html>"
    ((tag, attrs),) = tags(iframe_srcdoc(page, height=200, title='t"itle'))
    assert tag == "iframe"
    assert attrs["sandbox"] == "allow-scripts"
    assert "allow-same-origin" not in (attrs["sandbox"] or "")
    assert attrs["srcdoc"] == page  # escaped in the attribute, exact after parsing
    assert attrs["title"] == 't"itle'
    assert "height:200px" in (attrs["style"] or "")


def test_html_key_and_html_looking_text_use_the_iframe() -> None:
    for key, text in (("r.html", "<p>fragment</p>"), ("r.txt", "<!DOCTYPE html><html><body>x</body></html>")):
        found = [t for t, _ in tags(preview_html("text", text, key))]
        assert "iframe" in found, key
    assert looks_like_html("  <!-- c --><html lang='en'>") and not looks_like_html("a < b > c")


def test_markdown_is_rendered_and_raw_html_escaped() -> None:
    out = preview_html(
        "text", "# Title\n\n- *one*\n- **two**\n\n[ok](https://e.x) [bad](javascript:alert(1)) <b>raw</b>", "n.md"
    )
    assert "<h1>Title</h1>" in out and "<li><em>one</em></li>" in out and "<strong>two</strong>" in out
    assert '<a href="https://e.x"' in out
    assert "javascript:" not in [a.get("href") for t, a in tags(out) if t == "a"]
    assert "&lt;b&gt;raw&lt;/b&gt;" in out
    assert "<pre" in markdown_html("```\n<x>\n```") and "&lt;x&gt;" in markdown_html("```\n<x>\n```")


def test_json_is_a_collapsible_tree_with_escaped_values() -> None:
    out = preview_html("json", {"a": [1, {"b": EVIL}], EVIL: None}, "k")
    assert out.count("<details") == 3
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_json_tree_cap_notes_truncation() -> None:
    out = json_tree_html(list(range(10_000)), max_bytes=3000)
    assert "truncated" in out and len(out) < 10_000
    assert out.count("<details") == out.count("</details>")


def test_images_by_magic_bytes_and_svg_as_img() -> None:
    assert image_type(PNG_1X1) == "image/png" and image_type(b"GIF89a....") == "image/gif"
    assert image_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp" and image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    (img,) = [a for t, a in tags(preview_html("bytes", PNG_1X1, "shot.png")) if t == "img"]
    assert img["src"] == "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()
    svg = "<svg xmlns='http://www.w3.org/2000/svg'><script>x()</script></svg>"
    (img,) = [a for t, a in tags(preview_html("text", svg, "pic.svg")) if t == "img"]
    assert (img["src"] or "").startswith("data:image/svg+xml;base64,")
    assert preview_text("bytes", PNG_1X1, "shot.png") == "shot.png <image/png 1x1, 70 B>"


def test_other_bytes_get_a_hex_summary() -> None:
    data = bytes(range(256)) * 2
    out = preview_html("bytes", data, "blob.bin")
    assert "00000000  00 01 02" in out and "256 more bytes" in out
    assert preview_text("bytes", b"\x00ab", "b").splitlines()[1].startswith("00000000  00 61 62")


def test_text_cap_and_plain_text_twin() -> None:
    text = "é" * 5000
    out = preview_html("text", text, "log.txt", max_bytes=1000)
    assert "truncated: 9,000 of 10,000 bytes" in out
    twin = preview_text("text", text, "log.txt", max_chars=100)
    assert twin.startswith("log.txt <text, 10.0 kB>") and twin.endswith("more characters")
    assert preview_text("text", "<html><title> My  Page </title></html>", "p.html").startswith(
        "p.html <html, 38 B, title='My Page'>"
    )


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_plain_text_round_trips_through_escaping(text: str) -> None:
    out = preview_html("text", text, "x.log")
    body = out.split("<pre", 1)[1].split(">", 1)[1].rsplit("</pre>", 1)[0]
    assert html.unescape(body) == text
    assert "<script" not in body


def test_display_objects_have_short_deterministic_reprs() -> None:
    value = StoredValue("a<b>.json", "json", {"x": 1})
    assert repr(value) == "StoredValue(key='a<b>.json', kind='json', size=7)"
    assert "a&lt;b&gt;.json" in value._repr_html_()
    assert value._repr_mimebundle_()["text/plain"] == 'a<b>.json <json, 7 B>\n{\n  "x": 1\n}'
    s = MemoryStorage("s", "t")
    s.save("k", 1)
    listing = KeyListing(s.describe(), [s.info("k")], long=True)
    assert repr(listing) == "KeyListing('memory:///s/t', 1 key)"
    assert listing._repr_html_() == KeyListing(s.describe(), [s.info("k")], long=True)._repr_html_()
    assert KeyListing("here", ["a", "b"]).text() == "here: 2 keys\n  a\n  b"
    assert repr(RichText("line one\nline two")) == "RichText('line one')"
    tree = tree_from_storage(s)
    assert repr(tree) == "StorageTree('memory://', 1 session)" and "      k" in tree.text()
    s.for_target("u").save("j", 1)
    only_u = tree_from_storage(s, sessions=["s"], target="u", location="here")
    assert only_u.text() == "here\n  s/\n    u/  (1 key)\n      j"


def test_html_text_twin_is_a_summary_unless_the_source_is_asked_for() -> None:
    page = "<!DOCTYPE html><html><title>T</title><body><p>x</p></body></html>"
    assert preview_text("text", page, "p.html") == "p.html <html, 65 B, title='T'>"
    assert preview_text("text", page, "p.html", source=True).endswith("<p>x</p></body></html>")


def test_human_size() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 12_345, 5_000_000)] == ["0 B", "999 B", "1.0 kB", "12.3 kB", "5.0 MB"]


# ---- issue 11: what untrusted notebooks, dark themes and narrow outputs show -----------------------------------
PAGE = "<!doctype html><html><head><title>Nightly</title></head><body><h1>Hi</h1></body></html>"


def _page_parts(out: str) -> tuple[dict[str, str | None], dict[str, str | None], list[str]]:
    found = tags(out)
    frame = next(a for t, a in found if t == "iframe")
    fallback = next(a for t, a in found if t == "div" and a.get("class") == "psnb-untrusted")
    return frame, fallback, [t for t, _ in found]


def test_page_frame_sizes_itself_and_keeps_a_hidden_untrusted_fallback() -> None:
    value = StoredValue("r.html", "text", PAGE)
    out = value._repr_html_()
    frame, fallback, names = _page_parts(out)
    # The fallback: hidden where the output is trusted; JupyterLab's sanitizer drops `hidden` with the frame.
    assert "hidden" in fallback
    assert html.escape(TRUST_HINT, quote=True) in out and html.escape(value._text_twin(), quote=True) in out
    assert names.count("script") == 1  # the listener next to the frame (sizing to the page)
    assert (frame["srcdoc"] or "").startswith(PAGE) and "psnbHeight" in (frame["srcdoc"] or "")
    assert f"height:{DEFAULT_HEIGHT}px" in (frame["style"] or "")


def test_a_fixed_height_has_no_sizing_script() -> None:
    out = StoredValue("r.html", "text", PAGE, height=150)._repr_html_()
    frame, fallback, names = _page_parts(out)
    assert "height:150px" in (frame["style"] or "") and "script" not in names
    assert frame["srcdoc"] == PAGE  # the page exactly as stored: nothing appended
    assert "hidden" in fallback


def test_show_takes_a_height_in_pixels() -> None:
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "perf_storage_nb")
    try:
        ip.user_ns["_render_store"] = store = MemoryStorage("s", "t")
        store.save_string("r.html", PAGE)
        ip.run_line_magic("storage", "use _render_store")
        shown = ip.run_line_magic("storage", "show r.html --height 200")
        assert shown.height == 200 and "height:200px" in shown._repr_html_()
        assert ip.run_line_magic("storage", "show r.html").height is None
        for bad in ("0", "-5"):
            try:
                ip.run_line_magic("storage", f"show r.html --height {bad}")
            except UsageError as exc:
                assert "--height must be >= 1" in str(exc)
            else:
                raise AssertionError(f"--height {bad} was accepted")
    finally:
        ip.run_line_magic("unload_ext", "perf_storage_nb")
        ip.user_ns.pop("_render_store", None)


def test_help_text_grows_and_previews_scroll() -> None:
    help_html = RichText("x\n  y    z")._repr_html_()
    assert "max-height" not in help_html and "overflow:auto" not in help_html
    assert "padding-left:7ch;text-indent:-4.2em;text-indent:-7ch" in help_html  # wraps hang under the column
    assert "max-height:420px" in preview_html("text", "x" * 10, "log.txt")


@given(a=st.text(max_size=80), b=st.text(max_size=80), limit=st.integers(8, 60))
@settings(max_examples=400)
def test_short_labels_tell_different_labels_apart(a: str, b: str, limit: int) -> None:
    short_a, short_b = short_labels(a, b, limit)
    assert (short_a != short_b) == (a != b)
    if len(a) <= limit and len(b) <= limit:
        assert (short_a, short_b) == (a, b)
    for short, full in ((short_a, a), (short_b, b)):
        assert short == full or len(short) <= limit


def test_diff_headers_show_the_telling_part_with_the_whole_label_as_tooltip() -> None:
    a, b = "file:///tmp/a/very/long/root/exp/run1:bench.json", "file:///tmp/a/very/long/root/exp/run2:bench.json"
    out = diff_values({"x": 1, "s": "a\n  b\n"}, {"x": 2, "s": "a\n  c\n"}, labels=(a, b))._repr_html_()
    headers = [(attrs.get("title")) for t, attrs in tags(out) if t == "th" and attrs.get("title")]
    assert headers == [a, b]
    assert ">…/run1:bench.json<" in out and ">…/run2:bench.json<" in out
    pre = next(attrs for t, attrs in tags(out) if t == "pre")
    assert "text-align:left" in (pre["style"] or "") and "white-space:pre-wrap" in (pre["style"] or "")
    assert "--- file:///" not in out  # the labels are in the header, not repeated in the text diff
    badge_styles = [attrs["style"] or "" for t, attrs in tags(out) if "psnb-badge" in (attrs.get("class") or "")]
    assert badge_styles and all("white-space:nowrap" in s for s in badge_styles)
