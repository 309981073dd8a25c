"""Make untrusted text and HTML safe to publish in XML and JSON feeds.

Plain text fields (title, summary, names) lose markup and have entities decoded
exactly once; HTML fields go through an allowlist sanitiser (nh3, the Rust
`ammonia` crate) that keeps only harmless tags and absolute http(s) URLs.
"""

from __future__ import annotations

import html
import re
from functools import partial
from urllib.parse import urljoin, urlsplit

import nh3

# XML 1.0 allows neither C0 controls (but tab, LF, CR), nor surrogates, nor U+FFFE/U+FFFF.
# C1 controls (U+0080..U+009F) are allowed by XML but are mojibake in real records and
# break readers, so they go as well.
_FORBIDDEN_CHARS = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WHITESPACE = re.compile(r"\s+")
_TAG_LIKE = re.compile(r"<[A-Za-z!/?]")
# Text that merely mentions a script scheme ("[x](javascript:...)" left as text by the
# Markdown renderer) is harmless, but write its colon as an entity so that no reader, and
# no naive filter downstream, ever sees a `javascript:` string in our HTML.
_SCRIPT_SCHEME = re.compile(r"(?i)\b(java|vb|live)(script):")

SAFE_SCHEMES = frozenset({"http", "https"})
_ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl",
        "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
        "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "abbr": {"title"},
}
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})


def count_forbidden(text: str) -> int:
    """How many characters of `text` cannot appear in an XML 1.0 feed."""
    return len(_FORBIDDEN_CHARS.findall(text))


def strip_forbidden(text: str) -> str:
    """Drop the characters XML 1.0 forbids (and C1 controls)."""
    return _FORBIDDEN_CHARS.sub("", text)


def plain_text(text: str) -> str:
    """Text with markup removed, entities decoded once and whitespace collapsed."""
    text = strip_forbidden(text)
    if "<" in text or "&" in text:
        text = html.unescape(nh3.clean(text, tags=set(), attributes={}))
        if _TAG_LIKE.search(text):
            # Entity-escaped markup (`&lt;img ...&gt;`) is markup too: never let it out.
            escaped = text.replace("&", "&amp;")  # decode entities once, not twice
            text = html.unescape(nh3.clean(escaped, tags=set(), attributes={}))
    return _WHITESPACE.sub(" ", strip_forbidden(text)).strip()


def safe_url(url: object, base: str = "") -> str:
    """`url` as an absolute http(s) URL, or "" when it is not one (javascript:, data:, ...)."""
    if not isinstance(url, str):
        return ""
    url = _WHITESPACE.sub("", strip_forbidden(url))
    if not url:
        return ""
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
    return url


def _filter_attribute(base: str, element: str, attribute: str, value: str) -> str | None:
    if attribute in _URL_ATTRIBUTES:
        return safe_url(value, base) or None
    return value


def clean_html(fragment: str, base: str = "") -> str:
    """Sanitised HTML: allowlisted tags only, every URL absolute http(s), no scripts."""
    fragment = strip_forbidden(fragment)
    if not fragment.strip():
        return ""
    cleaned = nh3.clean(
        fragment,
        tags=set(_ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in _ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(SAFE_SCHEMES),
        link_rel="noopener noreferrer",
        attribute_filter=partial(_filter_attribute, base),
        strip_comments=True,
    )
    return neutralize_script_schemes(cleaned.strip())


def neutralize_script_schemes(markup: str) -> str:
    """Write the colon of `javascript:`-like text as `&#58;` (same text, never a URL)."""
    return _SCRIPT_SCHEME.sub(r"\1\2&#58;", markup)


def escape(text: str, quote: bool = True) -> str:
    """HTML-escape plain text for use inside generated HTML."""
    return neutralize_script_schemes(html.escape(text, quote=quote))
