"""Make untrusted text and HTML safe to publish in XML and JSON feeds.

Plain text fields (title, summary, names) lose markup and have entities decoded
exactly once; HTML fields go through an allowlist sanitiser (nh3, the Rust
`ammonia` crate) that keeps only harmless tags and absolute http(s) URLs.
"""

from __future__ import annotations

import html
import ipaddress
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Mapping
from functools import partial
from types import MappingProxyType
from urllib.parse import quote, urljoin, urlsplit

import nh3

# XML 1.0 allows neither C0 controls (but tab, LF, CR), nor surrogates, nor U+FFFE/U+FFFF.
# C1 controls (U+0080..U+009F) are allowed by XML but are mojibake in real records and
# break readers, so they go as well. So do the bidirectional embeddings, overrides and
# isolates (U+202A..U+202E, U+2066..U+2069): one left open reorders or reverses whatever a
# reader shows after it (titles in a list: "Trojan Source", CVE-2021-42574). The marks
# (U+200E, U+200F, U+061C), which open nothing, stay. U+FFFD goes too: it only says that
# something was lost to a wrong decoding (as `&#0;` and `&#xD800;` decode), shows as a
# box, and the W3C validator flags it as it flags C1 controls (BadCharacters). And so does
# U+FEFF, a byte-order mark left inside text: invisible, yet some readers trim it and
# others keep it, so one title would be two different strings.
_FORBIDDEN_CHARS = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2029\u202f-\u2065\u206a-\ud7ff\ue000-\ufefe\uff00-\ufffc"
    "\U00010000-\U0010ffff]"
)
_WHITESPACE = re.compile(r"\s+")
_TAG_LIKE = re.compile(r"<[A-Za-z!/?]")
# `<` runs that open something tag-like: dropping the whole run cannot create a new one.
_TAG_OPENERS = re.compile(r"<+(?=[A-Za-z!/?])")
# A `<`, and the name and attributes of the tag it would open (up to its `>`, if any).
_LESS_THAN = re.compile(r"<(/?)([A-Za-z][^\s/>]*)?([^<>]*)")
# Every element name an HTML parser knows, obsolete ones too (`<image>` is an `<img>`): in
# plain text, `<b>`, `</p>` or `<svg ...>` is markup. Another name with no attribute value
# (`vector<int>`, `List<String>`, `<Ctrl>+C`, `Map<K, V>`) is text, and keeps its `<`, with
# a WORD JOINER (U+2060, which shows nothing) after it: then no HTML parser, validator or
# reader that reads titles as HTML takes it for a tag, and every reader shows it as written.
_HTML_ELEMENTS = frozenset(
    {
        "a", "abbr", "acronym", "address", "applet", "area", "article", "aside",
        "audio", "b", "base", "basefont", "bdi", "bdo", "bgsound", "big", "blink",
        "blockquote", "body", "br", "button", "canvas", "caption", "center", "cite",
        "code", "col", "colgroup", "data", "datalist", "dd", "del", "details", "dfn",
        "dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset", "figcaption",
        "figure", "font", "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4",
        "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "iframe", "image",
        "img", "input", "ins", "isindex", "kbd", "keygen", "label", "legend", "li",
        "link", "listing", "main", "map", "mark", "marquee", "math", "menu", "menuitem",
        "meta", "meter", "multicol", "nav", "nextid", "nobr", "noembed", "noframes",
        "noscript", "object", "ol", "optgroup", "option", "output", "p", "param",
        "picture", "plaintext", "portal", "pre", "progress", "q", "rb", "rp", "rt",
        "rtc", "ruby", "s", "samp", "script", "search", "section", "select", "slot",
        "small", "source", "spacer", "span", "strike", "strong", "style", "sub",
        "summary", "sup", "svg", "table", "tbody", "td", "template", "textarea",
        "tfoot", "th", "thead", "time", "title", "tr", "track", "tt", "u", "ul", "var",
        "video", "wbr", "xmp"
    }
)  # fmt: skip
# Elements whose content the HTML parser reads as raw text: that text is markup, never prose,
# and unwrapped it would come out as live tags (`<title><title><script>` peels one layer a pass).
_RAW_TEXT_TAGS = frozenset(
    {"script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes",
     "noscript", "plaintext", "template"}
)  # fmt: skip
# html5ever's tree builder scans the stack of open elements for many start tags, so parsing
# costs depth x tags: 100,000 nested <div>s take minutes. Deeper markup is flattened first.
MAX_NESTING = 256
_TAG_TOKEN = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
# To the end when a tag is never closed: one scan, where `<[^>]*>` scans again from each `<`.
_TAG_SPAN = re.compile(r"<[^>]*(?:>|\Z)")
_NOT_NESTING = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody",
     "tfoot", "colgroup", "caption"}
)  # fmt: skip
# What RFC 3986 allows in each part of a URL (besides letters, digits and `%` escapes).
_URI_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_URI_QUERY_SAFE = _URI_PATH_SAFE + "?"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# A host name as feed validators take it: dot-separated labels of letters, digits and
# hyphens, the last starting with a letter or digit (the W3C validator refuses an enclosure
# on `[::1]`, `a_b.org`, `a!b.org`, `a..b.org`, `example.org.` or `localhost`).
_HOST_NAME = r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z0-9][a-z0-9-]*"
_HOST = re.compile(rf"^{_HOST_NAME}$")
# A site's own host may also be a local one (`localhost`, `intranet`, `my-host`): see
# `site_url`; and so may the address a server listens on (`is_host_name`).
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_SITE_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
# An http(s) URL in the form `safe_url` publishes (lower-case host as above whose last
# label starts with a letter and none with `xn--`, no port, a path with no `.` or `..`
# segment, and only characters RFC 3986 allows in a path and query, no `%` escape to
# normalise): it would be published unchanged, so it is accepted without further checks.
_PLAIN_HTTP_URL = re.compile(
    r"https?://(?![^/]*xn--)(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*(?![^?]*/\.\.?(?:[/?]|\Z))"
    r"/[A-Za-z0-9\-._~:/?@!$&'()*+,;=]*\Z"
)
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# Text that merely mentions a script scheme ("[x](javascript:...)" left as text by the
# Markdown renderer) is harmless, but write its colon as an entity so that no reader, and
# no naive filter downstream, ever sees a `javascript:` string in our HTML.
_SCRIPT_SCHEME = re.compile(r"(?i)\b(java|vb|live)(script):")

SAFE_SCHEMES = frozenset({"http", "https"})
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl",
        "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
        "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "abbr": {"title"},
}
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
# Tags that end a line or a block: in plain text they leave a space, not nothing, so
# `<p>One.</p><p>Two.</p>` reads "One. Two." (whitespace is collapsed afterwards).
_BREAKING_TAG = re.compile(
    r"<(?=/?(?:address|article|aside|blockquote|br|caption|dd|details|dialog|div|dl|dt"
    r"|fieldset|figcaption|figure|footer|form|h[1-6]|header|hgroup|hr|li|main|menu|nav|ol"
    r"|p|pre|section|summary|table|tbody|td|tfoot|th|thead|tr|ul)[\s/>])",
    re.IGNORECASE,
)
# Characters that show nothing: a text made only of them is empty.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Zl", "Zp"})
# Characters that show nothing though they are neither spaces nor format characters: the
# rest of Unicode's Default_Ignorable_Code_Point (Hangul fillers, which are letters to
# `str.isalnum`, variation selectors, the grapheme joiner, tag characters, and the code
# points kept unassigned for more of them), and the braille pattern blank U+2800 (a symbol
# to Unicode, drawn as an empty cell: the usual "invisible character" of chat tricks).
# A topic or title made only of these is empty.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2065, 0x2065),
    (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)  # fmt: skip
_IGNORABLE = frozenset(
    chr(code) for first, last in _IGNORABLE_RANGES for code in range(first, last + 1)
)
# In nh3's output every tag is normalised: lower-case names, double-quoted values with
# `"`, `<` and `>` escaped. So a tag is `<...>` with no `>` inside, ` src="` within a
# tag can only start an attribute, and `<iframe` only starts an iframe (whose raw text,
# left unescaped, ends at its `</iframe>`).
_LINK_OR_IMAGE_TAG = re.compile(r"<(/?)(a|img)\b([^>]*)>")
_IFRAME = re.compile(r'<iframe(?: src="([^"]*)")?>.*?</iframe>', re.DOTALL)
_HAS_HREF = re.compile(r'\shref="')
_HAS_SRC = re.compile(r'\ssrc="')
EMBED_LINK_TEXT = "Watch the embedded media"


# Double-encoded UTF-8 ("mojibake"): UTF-8 text read as Latin-1 or cp1252 and encoded again,
# as `Café` becomes `CafÃ©` and a closing quotation mark `â€™`. Such text begins with a UTF-8
# lead byte read as a character (Â, Ã for Latin-1 letters and signs, â for punctuation)
# followed by a continuation byte read as one (U+0080..U+00BF, or what cp1252 makes of
# 0x80..0x9F). The W3C validator flags the Latin-1 kind (BadCharacters); ftfy decodes both.
_MOJIBAKE = re.compile(
    "[\xc2\xc3\xe2][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039"
    "\u203a\u20ac\u2122]"
)


# `Ã` before a space ends a word in Portuguese and Vietnamese (`IRMÃ DA`, `ĐÃ CÓ`); ftfy
# reads it as `à` whose no-break space became a space, wherever the text holds some
# double-encoded UTF-8. The text is repaired in pieces cut there, so that it never sees one.
_A_TILDE_SPACE = re.compile("(?<=\xc3)(?= )")


MAX_MOJIBAKE = 2_000
"""More double-encoded characters than this in one text are left as they are: ftfy takes
about 10 us for each (a whole long article is a few hundred), and hostile text can hold
hundreds of thousands (1.7 s for 160,000)."""


def repair_mojibake(text: str) -> str:
    """`text` with double-encoded UTF-8 decoded (`CafÃ©` gives `Café`), else `text` itself.

    Checked in C first (`isascii`, then three characters), so that text that cannot hold
    any costs next to nothing; ftfy, which decodes it, is imported on the first one found.
    """
    if text.isascii() or not ("\xc3" in text or "\xc2" in text or "\xe2" in text):
        return text
    if not 0 < len(_MOJIBAKE.findall(text)) <= MAX_MOJIBAKE:
        return text
    from ftfy import fix_encoding  # (90 ms to import: only where there is something to fix)

    repaired = "".join(
        fix_encoding(piece) if _MOJIBAKE.search(piece) else piece
        for piece in _A_TILDE_SPACE.split(text)
    )
    return text if repaired == text else repaired


def strip_forbidden(text: str) -> str:
    """Drop the characters XML 1.0 forbids (and C1 controls, bidirectional controls and U+FFFD)."""
    return _FORBIDDEN_CHARS.sub("", text)


_NONE: Mapping[str, int] = MappingProxyType({})


def unpublishable(text: str) -> Mapping[str, int]:
    """Each character of plain text `text` that `plain_text` drops as no feed may carry it
    (see `_FORBIDDEN_CHARS`), once double-encoded UTF-8 is repaired (which only ever
    removes some), and how many times: empty for nearly all text, found by one search at
    most. (Counted, not listed: a hostile text of half a million of them stays small.)"""
    if (text.isprintable() and "\ufffd" not in text) or not _FORBIDDEN_CHARS.search(text):
        return _NONE
    return _forbidden_counts(repair_mojibake(text))


def _forbidden_counts(text: str) -> Counter[str]:
    """Each character of `text` that `_FORBIDDEN_CHARS` matches, and how many times."""
    return Counter(found.group() for found in _FORBIDDEN_CHARS.finditer(text))


def nesting_depth(fragment: str, limit: int = MAX_NESTING) -> int:
    """How deep the elements of `fragment` nest (at most `limit` + 1), by a quick tag count."""
    depth = deepest = 0
    for match in _TAG_TOKEN.finditer(fragment):
        if match.group(2).lower() in _NOT_NESTING:
            continue
        if match.group(1):
            depth = max(depth - 1, 0)
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def _flatten(fragment: str) -> str:
    """`fragment` without tags, when it nests too deep to parse in reasonable time."""
    if nesting_depth(fragment) <= MAX_NESTING:
        return fragment
    return _TAG_SPAN.sub(" ", fragment)


def _text_only(fragment: str) -> str:
    fragment = _BREAKING_TAG.sub(" <", fragment)  # a line or block break is a word break
    return nh3.clean(
        _flatten(fragment), tags=set(), attributes={}, clean_content_tags=set(_RAW_TEXT_TAGS)
    )


MAX_DECODE_PASSES = 4
_ESCAPED_AMPERSANDS = re.compile(r"&(?:amp;)+")  # `&amp;amp;amp;` is one `&`, however deep


def _opens_markup(match: re.Match[str]) -> bool:
    """Whether the `<` of a `_LESS_THAN` match opens markup (see `_HTML_ELEMENTS`): `<!`,
    `<?`, `</` not before a name, a known element's tag, or a tag with an attribute value
    (which could be an event handler, whatever the element)."""
    name, rest = match.group(2), match.group(3)
    if name is None:
        return match.string.startswith(("<!", "<?", "</"), match.start())
    return name.lower() in _HTML_ELEMENTS or "=" in rest


def _escape_text_less_thans(text: str) -> str:
    """`text` with each `<` that opens no markup written `&lt;`, and followed by a WORD
    JOINER where a tag's name would follow (see `_HTML_ELEMENTS`), so that the HTML parser
    keeps it as text: it read `vector<int> beats arrays` as an unknown element holding the
    rest, and dropped it all. The end tag of an element opened as markup is markup too."""
    tags = list(_LESS_THAN.finditer(text))
    opened = {
        m.group(2).lower() for m in tags if m.group(2) and not m.group(1) and _opens_markup(m)
    }
    return _LESS_THAN.sub(lambda match: _escaped_unless_markup(match, opened), text)


def _escaped_unless_markup(match: re.Match[str], opened: set[str]) -> str:
    name = match.group(2)
    if _opens_markup(match) or (match.group(1) and name and name.lower() in opened):
        return match.group()
    joiner = WORD_JOINER if match.group(2) is not None else ""
    return f"&lt;{joiner}{match.group()[1:]}"


WORD_JOINER = "\u2060"


def _drop_markup_openers(text: str) -> str:
    """`text` with each run of `<` that opens markup dropped, and a WORD JOINER after each
    other one that a letter, `!`, `/` or `?` follows (`_TAG_OPENERS`)."""
    return _TAG_OPENERS.sub(
        lambda m: "" if _opens_markup_at(text, m.end() - 1) else m.group() + WORD_JOINER, text
    )


def _opens_markup_at(text: str, at: int) -> bool:
    match = _LESS_THAN.match(text, at)
    return match is None or _opens_markup(match)


def plain_text(text: str) -> str:
    """Text with markup removed, entities decoded and whitespace collapsed.

    Scraped text is often escaped twice (`AT&amp;amp;T`, `&amp;lt;b&amp;gt;`): entities
    are decoded, and markup removed, until nothing changes (a few passes at most), so
    no published text holds an entity or a tag, and nothing is written doubly escaped.
    """
    repaired = repair_mojibake(text)  # (ftfy, where it runs, runs once)
    if (
        repaired is text and text.isprintable() and "<" not in text and "&" not in text
        and "  " not in text and "\ufffd" not in text
    ):  # fmt: skip
        # Nothing to do but trim: no double-encoded UTF-8, markup, entity, forbidden
        # character (all unprintable but U+FFFD) or whitespace but single spaces (every
        # other kind is unprintable).
        return text.strip(" ")
    return _plain_text_general(repaired)


def _plain_text_general(text: str) -> str:
    text = strip_forbidden(repair_mojibake(text))  # (before C1 controls go: they may be its)
    text = _ESCAPED_AMPERSANDS.sub("&", text)
    for _ in range(MAX_DECODE_PASSES):
        if "<" not in text and "&" not in text:
            break
        # Decoded entities can be forbidden characters (`&#x8d;`): drop them before looking
        # for tags, or `&lt;&#x8d;script&gt;` would pass as text and close up to `<script>`.
        # They can also spell double-encoded UTF-8 (`Caf&Atilde;&copy;`), repaired as written.
        parsed = _text_only(_escape_text_less_thans(text)) if "<" in text else text
        decoded = strip_forbidden(repair_mojibake(html.unescape(parsed)))
        if decoded == text:
            break
        text = decoded
    # Whatever still opens markup loses its `<`: plain text never holds markup.
    text = _drop_markup_openers(text)
    return _WHITESPACE.sub(" ", text).strip()


def is_visible(text: str) -> bool:
    """True when `text` shows something: not only spaces, format characters (U+200B...)
    and other characters that show nothing (`_IGNORABLE`: U+3164, U+FE0F...)."""
    first = text[:1]
    if first.isalnum() and first not in _IGNORABLE:
        return True  # such a letter or digit is never a space or a format character (tested)
    return any(
        not char.isspace()
        and char not in _IGNORABLE
        and unicodedata.category(char) not in _INVISIBLE_CATEGORIES
        for char in text
    )


def safe_url(url: object, base: str = "") -> str:
    """`url` as an absolute http(s) URL, or "" when it is not one (javascript:, data:, ...).

    User info (`user:password@`) is dropped: it is never meant to be published.
    Whitespace at either end and tabs and line breaks anywhere are dropped (as browsers
    do); other characters a URL cannot hold (spaces, quotes, `<`, non-ASCII) are
    percent-encoded and an international host name is IDNA-encoded. The result is in
    RFC 3986's normal form, as Atom ids must be: lower-case scheme and host, no empty or
    default port, a path of at least `/` with no `.` or `..` segment, escapes in upper case
    and none for a letter, digit or `-._~`. A host that is not a DNS name (`[::1]`,
    `a_b.org`, `localhost`) is refused.
    """
    if not isinstance(url, str):
        return ""
    if not base and _PLAIN_HTTP_URL.match(url) and "&amp;" not in url:
        return url  # the common case, decided without splitting: see _PLAIN_HTTP_URL
    return _safe_url_general(url, base)


def site_url(url: str) -> str:
    """`url`, the address of the site itself (`base_url`), in the form `safe_url` publishes
    addresses, or "" when it is not one. Its host may also be a name only a local network
    knows (`localhost`, `intranet`): where the site is served is its owner's choice, though
    feed validators refuse ids on such hosts."""
    return _safe_url_general(url, "", _SITE_HOST)


def is_host_name(name: str) -> bool:
    """True for a host name of dot-separated labels of ASCII letters, digits and inner
    hyphens, in any case (`localhost`, `feeds-1.lan`, `Example.org`)."""
    return name.isascii() and _SITE_HOST.match(name.lower()) is not None


def _safe_url_general(url: str, base: str, hosts: re.Pattern[str] = _HOST) -> str:
    url = strip_forbidden(url).strip().replace("\t", "").replace("\n", "").replace("\r", "")
    while "&amp;" in url:  # escaped for HTML in the source (`?a=1&amp;b=2`): readers differ
        url = url.replace("&amp;", "&")
    if not url:
        return ""
    url = _backslashes_as_slashes(url)
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return ""
    try:
        parts = urlsplit(url)
        if parts.port is not None and not 0 < parts.port < 65536:
            return ""
    except ValueError:
        return ""
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.hostname:
        return ""
    netloc = parts.netloc
    if "@" in netloc:
        head = f"{parts.scheme}://{netloc}"
        if url[: len(head)].lower() != head.lower():
            return ""
        netloc = netloc.rpartition("@")[2]
        url = f"{url[: len(parts.scheme) + 3]}{netloc}{url[len(head) :]}"
    return _encode_url(url, parts.scheme, netloc, hosts)


_SCHEME_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _backslashes_as_slashes(url: str) -> str:
    """`url` with each `\\` before its query or fragment made a `/`, as browsers read an
    http(s) address or one relative to it (the WHATWG URL standard): to them
    `https://a.example\\@b.example/` is on a.example, where Python's `urlsplit` reads
    `a.example\\` as user info and b.example as the host. Other schemes are left as they
    are (and are refused)."""
    if "\\" not in url:
        return url
    ends = [at for at in (url.find("?"), url.find("#")) if at >= 0]
    end = min(ends) if ends else len(url)
    scheme = _SCHEME_PREFIX.match(url)
    if scheme and scheme.group()[:-1].lower() not in SAFE_SCHEMES:
        return url
    return url[:end].replace("\\", "/") + url[end:]


def _encode_url(url: str, scheme: str, netloc: str, hosts: re.Pattern[str] = _HOST) -> str:
    """`url` with every character RFC 3986 does not allow percent-encoded, in normal form, or "".

    The path, query and fragment keep their delimiters as given (an empty `?` too),
    so decoding the result gives back the address that was written.
    """
    head = f"{scheme}://{netloc}"
    if url[: len(head)].lower() != head.lower():
        return ""
    rest = url[len(head) :]
    scheme = scheme.lower()
    host, _, port = netloc.partition(":")
    if not host.isascii():
        host = _ascii_host(host)
        if not host:
            return ""
    host = host.lower()
    if not hosts.match(host) or (port and not port.isdigit()):
        return ""
    if not _readable_host(host, local=hosts is not _HOST):
        return ""
    port = str(int(port)) if port else ""
    if port == _DEFAULT_PORTS[scheme]:
        port = ""
    before_fragment, hash_mark, fragment = rest.partition("#")
    path, question_mark, query = before_fragment.partition("?")
    # Dot segments go after the escapes are normalised: `/%2E/` is `/./`.
    return (
        f"{scheme}://{host}{':' if port else ''}{port}"
        f"{_remove_dot_segments(_encode_part(path, _URI_PATH_SAFE))}"
        f"{question_mark}{_encode_part(query, _URI_QUERY_SAFE)}"
        f"{hash_mark}{_encode_part(fragment, _URI_QUERY_SAFE)}"
    )


def _readable_host(host: str, local: bool) -> bool:
    """True when every reader reads `host` (a lower-case name `_HOST` or `_SITE_HOST` took)
    as it is written, and, unless `local`, it is not a loopback or private address.

    A host whose last label is a number (`1.2.3`, `0x7f.1`, `999.1.1.1`) is an IPv4
    address to browsers and JavaScript readers (the WHATWG URL standard): they rewrite the
    short forms (`0x7f.1` is 127.0.0.1) and refuse the invalid ones, so only the dotted
    quad is kept. An `xn--` label must be valid punycode (`xn--zz` is refused by them)."""
    last = host.rpartition(".")[2]
    if last.isdigit() or (last[:2] == "0x" and all(c in string.hexdigits for c in last[2:])):
        try:
            address = ipaddress.IPv4Address(host)  # four decimal octets, no leading zeros
        except ValueError:
            return False
        return local or address.is_global
    if "xn--" not in host:
        return True
    return all(_is_punycode(label) for label in host.split(".") if label.startswith("xn--"))


def _ascii_host(host: str) -> str:
    """An international host name in the ASCII form browsers give it (UTS 46 mapping,
    non-transitional, then punycode: the WHATWG URL standard), or "" when they would refuse
    it or might read it otherwise. The `idna` package does it (IDNA 2008; Python's own
    codec is IDNA 2003, to which `faß.de` is `fass.de`, another domain than
    `xn--fa-hia.de`); what IDNA 2008 refuses but browsers take (an emoji: `💩.la`) is
    mapped by UTS 46 alone and written in punycode, when it is plain enough to be sure
    of (see `_plainly_valid`)."""
    import idna  # (only for hosts that are not ASCII)

    try:
        return str(idna.encode(host, uts46=True, transitional=False).decode("ascii"))
    except idna.InvalidCodepoint:
        pass
    except (idna.IDNAError, UnicodeError):  # a bidirectional or joiner rule, a length...
        return ""
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError):
        return ""
    labels = mapped.split(".")
    if not all(_plainly_valid(label) for label in labels):
        return ""
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in labels
    )


def _plainly_valid(label: str) -> bool:
    """True for a label (mapped by UTS 46) that browsers take as it is: not empty, in NFC,
    no right-to-left, unassigned or joiner character (their rules are not checked here),
    not starting with a combining mark or a hyphen."""
    return (
        bool(label)
        and label[0] != "-"
        and not unicodedata.category(label[0]).startswith("M")
        and unicodedata.is_normalized("NFC", label)
        and not any(
            unicodedata.bidirectional(char) in ("R", "AL", "AN")
            or unicodedata.category(char) in ("Cn", "Cf")
            for char in label
        )
    )


def _is_punycode(label: str) -> bool:
    """True for an `xn--` label that browsers read: it spells text that needs no mapping,
    and that text is encoded back to the same label (see `_ascii_host`)."""
    import idna

    try:
        spelled = label[4:].encode("ascii").decode("punycode")
        if idna.uts46_remap(spelled, std3_rules=False, transitional=False) != spelled:
            return False
    except (idna.IDNAError, UnicodeError):
        return False
    return not spelled.isascii() and _ascii_host(spelled) == label


def _encode_part(part: str, safe: str) -> str:
    """A path, query or fragment percent-encoded, a lone `%` as `%25`, escapes normalised."""
    encoded = _BAD_PERCENT.sub("%25", quote(part, safe=safe))
    return _PERCENT_ESCAPE.sub(_normal_escape, encoded) if "%" in encoded else encoded


def _remove_dot_segments(path: str) -> str:
    """`path` without `.` and `..` segments (RFC 3986, 5.2.4), and `/` for an empty path."""
    if "/." not in path:
        return path or "/"
    kept: list[str] = []
    segments = path.split("/")[1:]
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")  # `/a/..` is the folder `/`, not the file `/a`'s parent named ""
    return "/" + "/".join(kept)


def _normal_escape(match: re.Match[str]) -> str:
    """An escape as RFC 3986 normalises it: the character itself if unreserved, else upper case."""
    char = chr(int(match[0][1:], 16))
    return char if char in _UNRESERVED else match[0].upper()


# Feed validators compare an Atom id with the form RFC 3987 gives it (the W3C validator's
# `canonicalForm`): in each part of the URL, the escapes of a run between delimiters are
# decoded as UTF-8, put in Unicode's NFC and encoded again. Delimiters are the characters
# RFC 3986 reserves that the part allows, written or escaped (`%2F` is one in a query, not
# in a path).
_PATH_DELIMITERS = frozenset("!$&'()*+,;=:@")
_QUERY_DELIMITERS = _PATH_DELIMITERS | {"/", "?"}
_URL_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|.", re.DOTALL)


def id_url(url: str) -> str | None:
    """`url` (as `safe_url` gives it) in the form feed validators compare Atom ids in: the
    same, unless its escapes spell text that is not in NFC (`cafe%CC%81` becomes
    `caf%C3%A9`); None when they spell no text (`caf%E9`, Latin-1), or when decoding them
    leaves an escape (`%2541`), which a validator decodes twice."""
    if "%" not in url:
        return url
    head_end = url.find("/", url.find("//") + 2)
    before_fragment, hash_mark, fragment = url[head_end:].partition("#")
    path, question_mark, query = before_fragment.partition("?")
    try:
        segments = [_id_part(segment, _PATH_DELIMITERS) for segment in path.split("/")]
        query = _id_part(query, _QUERY_DELIMITERS)
        fragment = _id_part(fragment, _QUERY_DELIMITERS)
    except ValueError:
        return None
    return f"{url[:head_end]}{'/'.join(segments)}{question_mark}{query}{hash_mark}{fragment}"


def _id_part(part: str, delimiters: frozenset[str]) -> str:
    """One part of a URL with each run's text in NFC (ValueError: not UTF-8, or twice escaped)."""
    if "%" not in part:
        return part
    pieces: list[str] = []
    run = bytearray()
    for token in _URL_TOKEN.findall(part):
        octet = int(token[1:], 16) if len(token) == 3 else ord(token)  # the URL is ASCII
        if chr(octet) in delimiters:
            pieces.append(_nfc_run(run))
            run.clear()
            pieces.append(token.upper())
        else:
            run.append(octet)
    pieces.append(_nfc_run(run))
    return "".join(pieces)


def _nfc_run(run: bytearray) -> str:
    text = run.decode()  # UnicodeDecodeError is a ValueError
    if _PERCENT_ESCAPE.search(text):
        raise ValueError("a validator would decode this escape again")
    return quote(unicodedata.normalize("NFC", text), safe="")


def _filter_attribute(base: str, element: str, attribute: str, value: str) -> str | None:
    if attribute in _URL_ATTRIBUTES:
        return safe_url(value, base) or None
    return value


def clean_html(fragment: str, base: str = "", dropped: Counter[str] | None = None) -> str:
    """Sanitised HTML: allowlisted tags only, every URL absolute http(s), no scripts.

    An iframe becomes a link to what it embeds; an image without a usable address is
    dropped, and a link without one is unwrapped (its text stays). The characters of
    `fragment` no feed may carry are dropped, and counted in `dropped` when it is given.
    """
    repaired = repair_mojibake(fragment)
    kept = strip_forbidden(repaired)
    if dropped is not None and len(kept) != len(repaired):
        dropped.update(_forbidden_counts(repaired))
    fragment = _flatten(kept)
    if not fragment.strip():
        return ""
    sanitized = _sanitize(fragment, base, keep_iframes=True)
    # The sanitiser decodes character references: `&#1;` or `&#x81;` would come out as
    # characters XML forbids, which no feed may hold, and `Caf&Atilde;&copy;` as mojibake.
    reshaped = _drop_empty_shells(strip_forbidden(repair_mojibake(_iframes_as_links(sanitized))))
    if reshaped != sanitized or "<iframe" in reshaped:
        # The reshaping works on text, safely only as long as nh3 escapes `<` and `>` in
        # attribute values (it does now): what it made is sanitised once more, which also
        # drops any iframe markup it did not expect or left alone (one with no address it
        # could link to: `<iframe title=...></iframe>`, found by the property test).
        reshaped = strip_forbidden(_sanitize(reshaped, base, keep_iframes=False))
    return neutralize_script_schemes(reshaped.strip())


def _sanitize(fragment: str, base: str, *, keep_iframes: bool) -> str:
    """nh3's output for `fragment`, keeping iframes (with only a safe `src`) if asked."""
    tags, raw_text_tags = set(ALLOWED_TAGS), set(_RAW_TEXT_TAGS)
    attributes = {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()}
    if keep_iframes:
        tags.add("iframe")
        raw_text_tags.discard("iframe")
        attributes["iframe"] = {"src"}
    return nh3.clean(
        fragment,
        tags=tags,
        clean_content_tags=raw_text_tags,
        attributes=attributes,
        url_schemes=set(SAFE_SCHEMES),
        link_rel="noopener noreferrer",
        attribute_filter=partial(_filter_attribute, base),
        strip_comments=True,
    )


def _iframes_as_links(markup: str) -> str:
    """nh3's output with each iframe made a paragraph linking to its `src` (already a safe
    absolute URL) or removed, content and all."""
    if "<iframe" not in markup:
        return markup
    return _IFRAME.sub(_iframe_link, markup)


def _iframe_link(match: re.Match[str]) -> str:
    src = match.group(1)
    if not src:
        return ""
    return f'<p><a href="{src}" rel="noopener noreferrer">{EMBED_LINK_TEXT}</a></p>'


def _drop_empty_shells(markup: str) -> str:
    """nh3's output without `<img>`s whose `src` was refused, and with `<a>`s whose `href`
    was refused unwrapped (their text stays). One linear pass over the tags."""
    if "<a" not in markup and "<img" not in markup:
        return markup
    pieces: list[str] = []
    position = 0
    anchors: list[bool] = []  # for each open <a>: is it kept?
    for match in _LINK_OR_IMAGE_TAG.finditer(markup):
        closing, name, attributes = match.groups()
        if name == "img":
            drop = not _HAS_SRC.search(attributes)
        elif closing:
            drop = bool(anchors) and not anchors.pop()
        else:
            anchors.append(bool(_HAS_HREF.search(attributes)))
            drop = not anchors[-1]
        if drop:
            pieces.append(markup[position : match.start()])
            position = match.end()
    pieces.append(markup[position:])
    return "".join(pieces)


def neutralize_script_schemes(markup: str) -> str:
    """Write the colon of `javascript:`-like text as `&#58;` (same text, never a URL)."""
    if "t:" not in markup and "T:" not in markup:
        return markup  # every such scheme ends in "t:" (any case): nothing to neutralise
    return _SCRIPT_SCHEME.sub(r"\1\2&#58;", markup)


def escape(text: str, quote: bool = True) -> str:
    """HTML-escape plain text for use inside generated HTML."""
    if not (
        "&" in text or "<" in text or ">" in text or '"' in text or "'" in text
        or "t:" in text or "T:" in text
    ):  # fmt: skip
        return text  # no character html.escape replaces, and no "t:" ending a script scheme
    return neutralize_script_schemes(html.escape(text, quote=quote))
