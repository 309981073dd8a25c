"""What every build's output must be, whatever went in: valid, parseable and harmless.

`check_outputs(out)` reads every file of an output folder and fails the calling test if
any feed is not well-formed XML or valid JSON Feed, if feedparser flags it (`bozo`), if
a URL anywhere is not absolute http(s), if an HTML payload holds a script, a handler
attribute or a dangerous element, if a plain-text field holds markup, or if a marker
string (a `secured` value) leaked. Hostile-input tests also pass `strict=True`, which
forbids `<script`, `javascript:`, `vbscript:`, `data:` and `onerror` in the raw bytes.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from collections.abc import Iterable
from html.entities import name2codepoint
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import feedparser
import idna
import jsonschema
import lxml.html
from lxml import etree

SCHEMA = json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
FEED_SUFFIXES = (".rss", ".atom", ".json")
TEMP_SUFFIX = ".feedpub-tmp"
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
TAG_LIKE = re.compile(r"<[A-Za-z!/?]")
# What XML forbids, C1 controls and U+FFFD (what a wrong decoding left: the W3C validator's
# BadCharacters, as for C1 controls).
XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffc\U00010000-\U0010ffff]")
# Raw strings no output may hold, whatever the input (checked case-insensitively).
# Bidirectional embeddings, overrides and isolates: one left open reorders what follows it.
BIDI_CONTROLS = tuple("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
NEVER = ("<script", *BIDI_CONTROLS)
# Raw strings no output of a hostile fixture may hold: the fixtures use them only as markup
# or as URLs, never as words, so any occurrence is an escape.
NEVER_STRICT = (*NEVER, "javascript:", "vbscript:", "data:", "onerror", "<iframe")
DANGEROUS_ELEMENTS = frozenset(
    {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form",
     "input", "button", "textarea", "select", "svg", "math", "base", "link", "meta",
     "template", "noscript", "xmp", "plaintext", "noembed", "noframes"}
)  # fmt: skip
URL_ATTRIBUTES = frozenset({"href", "src", "url", "uri", "xmlurl", "htmlurl", "cite"})
HTML_FORBIDDEN_ATTRIBUTES = frozenset({"style", "srcdoc", "srcset", "action", "formaction"})
HOST_NAME = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z0-9][a-z0-9-]*(:[1-9][0-9]*)?\Z")
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
DOUBLE_ENCODED = re.compile("[\xc2\xc3][\x80-\xbf]")
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
# An `&` written `&amp;` before what reads as an entity without its `;` (`&pi`, `&#xZZ`,
# `5&10`), in plain text (element text outside CDATA and addresses, `title` attributes):
# the W3C validator's ContainsHTML, which the RSS Profile's `&#x26;` avoids.
AMPERSAND = re.compile(
    r"<!\[CDATA\[.*?\]\]>"
    r"|<(?:link|guid|id|uri|docs)(?:\s[^>]*)?(?<!/)>[^<]*"
    r"|(<[^>]*>)"
    r"|&amp;(#?\w+)",
    re.DOTALL,
)
TITLE_AMPERSAND = re.compile(r' title="([^"]*)"')


def entity_like_ampersands(document: str) -> list[str]:
    """The words after each `&amp;` in `document` that the W3C validator takes for an entity."""
    words: list[str] = []
    for match in AMPERSAND.finditer(document):
        if match[2]:
            words.append(match[2])
        elif match[1]:
            for title in TITLE_AMPERSAND.findall(match[1]):
                words += re.findall(r"&amp;(#?\w+)", title)
    return [w for w in words if w in name2codepoint or w == "apos" or not w.isalpha()]


def is_safe_url(url: str) -> bool:
    """Absolute http(s) with a host name, nothing a URL cannot hold, in RFC 3986 normal form.

    Feed validators refuse other hosts (`[::1]`, `a_b.org`, `localhost`) in an enclosure,
    and an Atom id that is not in normal form (upper-case host, `:443`, `%7e`, no path, `/./`).
    """
    if not url or url != url.strip() or re.search(r"[\s<>\"\\^`{|}]", url):
        return False
    parts = urlsplit(url)
    escapes = re.findall(r"%[0-9A-Fa-f]{2}", url)
    return (
        parts.scheme in ("http", "https")
        and bool(HOST_NAME.match(parts.netloc))
        and is_readable_host(parts.hostname or "")
        and parts.port != {"http": 80, "https": 443}[parts.scheme]
        and parts.path.startswith("/")
        and not re.search(r"/\.\.?(?:/|\Z)", parts.path)
        and all(e == e.upper() and chr(int(e[1:], 16)) not in UNRESERVED for e in escapes)
    )


def is_readable_host(host: str) -> bool:
    """True when readers that follow the WHATWG URL standard read `host` as written: a host
    ending in a number is an IPv4 address to them (`0x7f.1` is 127.0.0.1), so it must be a
    dotted quad; each `xn--` label must be valid punycode. (A site's own address may be a
    local one: that articles' addresses are not is checked in test_hostile.)"""
    last = host.rsplit(".", 1)[-1]
    if re.fullmatch(r"[0-9]+|0x[0-9a-f]*", last):
        try:
            return bool(ipaddress.IPv4Address(host))
        except ValueError:
            return False
    return all(is_readable_punycode(label) for label in host.split(".") if label.startswith("xn--"))


def is_readable_punycode(label: str) -> bool:
    """True for an `xn--` label spelling text that UTS 46 leaves as it is (as browsers
    require), encoded back to the same label."""
    try:
        spelled = label[4:].encode("ascii").decode("punycode")
        unchanged = idna.uts46_remap(spelled, std3_rules=False, transitional=False) == spelled
    except (idna.IDNAError, UnicodeError):
        return False
    return unchanged and "xn--" + spelled.encode("punycode").decode("ascii") == label


def check_url(url: str, where: str) -> None:
    assert is_safe_url(url), f"{where}: unsafe or invalid URL {url!r}"


# Atom ids are compared in RFC 3987's form (the W3C validator warns of any other): between
# delimiters, escapes spell UTF-8 text in NFC, with no escape left once decoded.
ID_DELIMITERS = re.compile(r"[:/?#\[\]@!$&'()*+,;=]|%(?:2[13-9A-Ca-cFf]|3[ABDFabdf]|40|5[BDbd])")


def check_atom_id(text: str | None, where: str) -> None:
    """An Atom id: a `urn:uuid:`, or a safe URL whose escaped text validators take as it is."""
    value = text or ""
    if value.startswith("urn:uuid:"):
        return
    check_url(value, f"{where} <id>")
    for run in ID_DELIMITERS.split(value.partition("//")[2]):
        try:
            decoded = unquote_to_bytes(run).decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError(f"{where}: id {value!r}: escapes that are not UTF-8") from None
        assert unicodedata.is_normalized("NFC", decoded), f"{where}: id {value!r}: not NFC"
        assert not re.search("%[0-9A-Fa-f]{2}", decoded), f"{where}: id {value!r}: %25 escape"


def check_not_double_encoded(text: str, where: str) -> None:
    """No double-encoded UTF-8 ("CafÃ©"), as the W3C validator finds it (BadCharacters): a
    character U+0080..U+00BF after Â or Ã, in text that reads back as UTF-8 through Latin-1."""
    if DOUBLE_ENCODED.search(text):
        try:
            decoded = text.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return
        raise AssertionError(f"{where}: double-encoded UTF-8 {text[:100]!r} ({decoded[:100]!r})")


def check_plain(text: str | None, where: str) -> None:
    """Plain text (titles, names, tags): no markup, no characters XML forbids, no mojibake."""
    if not text:
        return
    assert not TAG_LIKE.search(text), f"{where}: markup in plain text {text[:200]!r}"
    assert not XML_FORBIDDEN.search(text), f"{where}: forbidden character in {text[:200]!r}"
    check_not_double_encoded(text, where)


def check_html(fragment: str | None, where: str) -> None:
    """An HTML payload as a browser would see it: no scripts, handlers or unsafe URLs."""
    if not fragment or not fragment.strip():
        return
    check_not_double_encoded(fragment, where)
    assert not XML_FORBIDDEN.search(fragment), f"{where}: forbidden character in HTML"
    assert "<script" not in fragment.lower(), f"{where}: <script in HTML"
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions carry no behaviour
        tag = element.tag.lower()
        assert tag not in DANGEROUS_ELEMENTS, f"{where}: <{tag}> in HTML {fragment[:300]!r}"
        for name, value in element.attrib.items():
            name = name.lower()
            assert not name.startswith("on"), f"{where}: handler attribute {name}={value!r}"
            assert name not in HTML_FORBIDDEN_ATTRIBUTES, f"{where}: attribute {name}"
            if name in URL_ATTRIBUTES:
                check_url(value, f"{where} <{tag} {name}>")


def check_xml(data: bytes, where: str, kind: str) -> Any:
    """Well-formed XML; for feeds, parsed by feedparser with no bozo; every field checked."""
    root = etree.fromstring(data, XML_PARSER)
    if kind in (".rss", ".atom"):
        words = entity_like_ampersands(data.decode())
        assert not words, f"{where}: '&amp;' before {words[:5]} (write '&#x26;')"
    if kind in (".rss", ".atom"):
        parsed = feedparser.parse(data)
        assert not parsed.bozo, f"{where}: feedparser bozo: {parsed.get('bozo_exception')}"
        assert parsed.version == ("rss20" if kind == ".rss" else "atom10"), where
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname
        for name, value in element.attrib.items():
            local = etree.QName(name).localname.lower()
            if local in URL_ATTRIBUTES:
                check_url(value, f"{where} <{tag} {local}>")
            elif local in ("term", "title", "text", "label"):
                check_plain(value, f"{where} <{tag} {local}>")
        text = element.text
        is_html = (
            element.tag == CONTENT_ENCODED
            or (tag == "description" and element.getparent().tag == "item")
            or (
                element.tag in (f"{ATOM}content", f"{ATOM}summary")
                and element.get("type") == "html"
            )
        )
        if is_html:
            check_html(text, f"{where} <{tag}>")
        elif tag in ("link", "uri", "docs", "icon", "logo") and text and text.strip():
            check_url(text, f"{where} <{tag}>")
        elif element.tag == f"{ATOM}id":
            check_atom_id(text, where)
        elif tag == "guid" and element.get("isPermaLink") == "true":
            check_url(text or "", f"{where} <guid>")
        else:
            check_plain(text, f"{where} <{tag}>")
    return root


def check_json_feed(data: bytes, where: str) -> dict[str, Any]:
    """Valid JSON; valid against the JSON Feed 1.1 schema and its rules; every field checked."""
    document = json.loads(data)
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, f"{where}: not JSON Feed 1.1: {errors[0].message} at {list(errors[0].path)}"
    for key in ("home_page_url", "feed_url"):
        check_url(document[key], f"{where} {key}")
    check_plain(document["title"], f"{where} title")
    ids = [item["id"] for item in document["items"]]
    assert len(ids) == len(set(ids)), f"{where}: duplicate item ids"
    for index, item in enumerate(document["items"]):
        at = f"{where} items[{index}]"
        assert item["id"].strip(), f"{at}: empty id"
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item:
                check_url(item[key], f"{at}.{key}")
        for key in ("title", "summary"):
            check_plain(item.get(key), f"{at}.{key}")
        for tag in item.get("tags", []):
            check_plain(tag, f"{at}.tags")
        for author in item.get("authors", []):
            check_plain(author.get("name"), f"{at}.authors.name")
            if "url" in author:
                check_url(author["url"], f"{at}.authors.url")
        for attachment in item.get("attachments", []):
            check_url(attachment["url"], f"{at}.attachments.url")
            check_plain(attachment.get("title"), f"{at}.attachments.title")
        check_html(item.get("content_html"), f"{at}.content_html")
    return dict(document)


def check_index(data: bytes, where: str) -> None:
    """The index page: our own template, with nothing a record could have turned into code."""
    root = lxml.html.document_fromstring(data)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag != "script", f"{where}: <script>"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{where}: handler attribute {name}"
            if name.lower() in ("href", "src") and not re.match(r"^#[A-Za-z0-9_-]*$", value):
                check_url(value, f"{where} <{element.tag} {name}>")  # or a link within the page
    for element in root.iter("a", "h2", "span", "title"):
        check_plain(element.text_content(), f"{where} <{element.tag}>")


def output_files(out: Path) -> dict[str, bytes]:
    """Every file of an output folder, hidden ones included, by relative path."""
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def check_outputs(
    out: Path, *, markers: Iterable[str] = (), strict: bool = False, allow: Iterable[str] = ()
) -> dict[str, bytes]:
    """Check every output file of `out` (see the module docstring); the files by path.

    `allow` names strict needles a case may hold where they are inert (inside a URL path).
    """
    files = output_files(out)
    root = out.resolve()
    for name in files:
        assert root in (out / name).resolve().parents, f"{name} is outside {out}"
    check_files(files, markers=markers, strict=strict, allow=allow)
    return files


def check_files(
    files: dict[str, bytes],
    *,
    markers: Iterable[str] = (),
    strict: bool = False,
    allow: Iterable[str] = (),
) -> None:
    """Check a build's outputs by relative path, as written or as rendered in memory."""
    never = [needle for needle in (NEVER_STRICT if strict else NEVER) if needle not in allow]
    markers = list(markers)
    # Hidden files (the manifest, the lock, temporaries of a killed build) are never served.
    feeds = [
        name
        for name in files
        if name.endswith(FEED_SUFFIXES) and not name.rsplit("/", 1)[-1].startswith(".")
    ]
    assert "all.json" in files and "all.rss" in files and "all.atom" in files, sorted(files)
    for name in files:
        leaf = name.rsplit("/", 1)[-1]
        assert not name.endswith(TEMP_SUFFIX) or leaf.startswith("."), name
    for name, data in files.items():
        lowered = data.lower()
        for marker in markers:
            assert marker.encode().lower() not in lowered, f"{name}: private marker {marker!r}"
        for needle in never:
            assert needle.encode() not in lowered, f"{name}: holds {needle!r}"
    for name in feeds:
        stem = name.rsplit(".", 1)[0]
        for suffix in FEED_SUFFIXES:
            assert f"{stem}{suffix}" in files, f"{stem}{suffix} missing beside {name}"
        if name.endswith(".json"):
            check_json_feed(files[name], name)
        else:
            check_xml(files[name], name, name[name.rfind(".") :])
    if "feeds.opml" in files:
        check_xml(files["feeds.opml"], "feeds.opml", ".opml")
    if "index.html" in files:
        check_index(files["index.html"], "index.html")


def feed_items(out: Path, stem: str = "all") -> list[dict[str, Any]]:
    """The items of one JSON feed."""
    items: list[dict[str, Any]] = json.loads((out / f"{stem}.json").read_bytes())["items"]
    return items
