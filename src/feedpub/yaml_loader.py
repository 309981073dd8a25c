r"""Front-matter YAML: PyYAML's safe loader, sped up by `yaml-rs` where that is provably the same.

yaml-rs (Rust) parses ~8x faster than PyYAML's C loader, whose constructor is
Python. Plain scalars are typed by YAML 1.2's core schema on both paths (PyYAML is
given it below, keeping its timestamps: `NO`, `yes`, `off` and `12:30` are text, `017`
is 17), but the two still differ on timestamps (text to yaml-rs), `0b101`, `1_000`,
`0X1F`, merge keys, aliases, tags and errors. So the fast result is used only when
every such difference is ruled out, in one of two ways.

The common shapes (nearly every record) are recognised by one regular expression,
`_COMMON`, matched against the whole document: every line is empty, `key:`,
`key: value`, `- value` or `- key: value`, where a key is a word neither parser types,
and a value is a double-quoted text with at most the escapes `\\ \" \n \r \t`, a
single-quoted text, a decimal int of at most 18 digits, `true`/`false`/`null` (in
the spellings both parsers share), an ISO 8601 timestamp (after a key only), or plain
text that starts with a letter, `/` or `(` and is not a word either parser types, or
starts with a digit or `_` and holds a `/` or a space and a letter but Z, which no
number or timestamp does. Every character is one both parsers read alike (YAML 1.1's
printable set less its own line breaks, and no \xa0 to start a plain text).
Each of these means the same to both parsers but the timestamps, which are retyped
as under 3. below (no text equal to one can be written another way but quoted, and a
quoted one rules the retyping out). Every other document is checked token by token:

1. Gate: a document with characters outside YAML 1.1's printable set (PyYAML refuses
   them, yaml-rs reads them), tags, anchors, aliases, block scalars, flow collections,
   complex or merge keys, directives, tabs, YAML 1.1 line breaks, deep indentation,
   nested `- - ` sequences, empty keys or any scalar continued on a second line goes
   to PyYAML (which also keeps yaml-rs away from nesting deep enough to overflow its
   stack). What is left has every scalar and key alone on its line, after `key: `,
   after `- ` or as the key.
2. Tokens: every such plain scalar or key that either parser could type as
   non-text must get the same value from both, except timestamps (text in yaml-rs).
3. Timestamps: text values equal to a plain timestamp token are typed as PyYAML
   types them, when that text was never also written quoted, and exactly as many
   texts are found as tokens (an escaped double-quoted text can equal one).

"PyYAML" here is PyYAML's safe loader with three changes, made in `SafeLoader` below and
so seen by both paths: the core schema's types (above); a timestamp with a leap second
(`23:59:60Z`, valid RFC 3339), which PyYAML refuses ("second must be in 0..59", failing
the whole document), reads as second 59; a timestamp that names no moment (`2024-02-30`,
`25:00`, an offset `+00:60`), which PyYAML refuses the same way or, for an offset, reads
as `+01:00`, is text (the field holding it then says what is wrong). And another one, in
`SafeLoader` only: a mapping that gives a key twice is an error ("found duplicate key"),
as YAML requires and yaml-rs already has it, where PyYAML kept the last value silently.

Any error of the fast parser also goes to PyYAML, which then gives the errors reported.
"""

from __future__ import annotations

import functools
import importlib
import math
import re
from collections import Counter
from datetime import date, datetime
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, ScalarNode
from yaml.resolver import BaseResolver, Resolver

try:  # libyaml's C loader is ~8x faster; both are safe loaders that build no objects.
    from yaml import CSafeLoader as _PyYAMLSafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _PyYAMLSafeLoader  # type: ignore[assignment]

yaml_rs: Any
try:
    yaml_rs = importlib.import_module("yaml_rs")
except ImportError:  # pragma: no cover - the accelerator is optional
    yaml_rs = None

STR_TAG = "tag:yaml.org,2002:str"
# Each pattern starts with a character class, which `re` scans for quickly.
# Characters the gate lets through: YAML 1.1's printable set (libyaml refuses a document
# with any other) less the tab and the line breaks and BOM only YAML 1.1 knows (\x85,
# \u2028, \u2029, \ufeff). A fullmatch of this class is ~2x faster than a search for the rest.
_GATE_CHARACTERS = re.compile(
    "[\n\r -~\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*+"
)
_GATE_NODES = re.compile(
    r"[:\-?\n] *+[!&*|>\[{%@`?<:]"
)  # tags, anchors, blocks, flows, merges, empty keys
# Two searches, each led by one literal character (`re` skips to it quickly): one pattern
# with a `- ` branch beside the `\n` ones was tried at every position, 2x slower.
_GATE_LINES = re.compile(
    r"\n(?:---|\.\.\.| {40}"  # document markers, deep nesting
    r"| *+(?!- |-\n|#|\n)[^:\n]*+(?::(?! |\n)[^:\n]*+)*+\n)"  # neither `key:` nor `- `
)
# Nested compact sequences (yaml-rs overflows its stack on 20,000 of them).
_GATE_NESTED = re.compile(r"- ++-[ \n]")
# The plain tokens either parser might read as other than text, up to the line end (a
# comment cut off): mapping values, sequence items and keys. yaml-rs reads even `_1`
# or `0B1` as numbers, and every word either parser types has at most 5 letters.
_MAYBE = r"[-+.0-9_~=<][^\n]*|[^\n'\" ][^\n]{0,4}?(?=(?: +#[^\n]*)? *\n)"
_VALUE = re.compile(rf": ++({_MAYBE})")
_ITEM = re.compile(rf"\n *+(?:- ++)++({_MAYBE})")
_KEY = re.compile(r"\n *+(?:- ++)*+([-+.0-9_~=<][^\n]*?|[^\n'\" :]{1,5}):(?= |\n)")
# The usual timestamp: PyYAML's datetime for it is the one `fromisoformat` makes.
_ISO_STAMP = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})$"
)
_DECIMAL = re.compile(r"^-?(?:0|[1-9][0-9]{0,17})$")  # the same int for both parsers
# A double-quoted value that fills the rest of its line after `key: ` or `- ` and holds no
# quote or backslash: it is text to both parsers, so the gate and token scans skip it (most
# of a record's bytes are such titles, excerpts and URLs).
_QUOTED_VALUE = re.compile(r'"(?<=[:-] ")[^"\'\\\n]*+"(?=\n)')
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
MERGE_TAG = "tag:yaml.org,2002:merge"

# The common shapes, all in `_COMMON` (see the module's docstring). Its classes hold
# only characters both parsers read alike; those of the Basic Multilingual Plane are
# kept apart from the others (`re` tests a class of BMP characters ~1.5x faster).
_BMP = "\u00a1-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"  # no \xa0, 1.1 breaks, BOM
_ASTRAL = "\U00010000-\U0010ffff"
_DOUBLE = rf"[ !#-\[\]-~\xa0{_BMP}]"  # inside "...": not `"` or `\`
_SINGLE = rf"[ -&(-~\xa0{_BMP}]"  # inside '...': not `'`
_PLAIN = rf"[ -\"$-9;-~\xa0{_BMP}]"  # inside plain text: not `#` or `:`
# Words some YAML reader types: YAML 1.1's bools (text to both parsers since the core
# schema, but kept off this path: it stays what was verified) and both parsers' nulls and
# bools (`y`, `n`, `inf` or `nan` are text to both). Written as a tree of first
# letters, which `re` rejects at the first one: a flat list of 22 words cost ~2 µs.
_TYPED_WORD = (
    r"(?:Y(?:es|ES)|yes|N(?:o|O|ull|ULL)|n(?:o|ull)|O(?:n|N|ff|FF)|o(?:n|ff)"
    r"|T(?:rue|RUE)|true|F(?:alse|ALSE)|false)"
)
_ISO_TOKEN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})"
_COMMON_KEY = rf"(?!{_TYPED_WORD}:)[A-Za-z][A-Za-z0-9_-]*+:"
_COMMON_VALUE = (
    rf'"{_DOUBLE}*+(?:(?:\\[\\"nrt]|[{_ASTRAL}]){_DOUBLE}*+)*+"'
    rf"|'{_SINGLE}*+(?:(?:''|[{_ASTRAL}]){_SINGLE}*+)*+'"
    r"|-?(?:0|[1-9][0-9]{0,17})"
    r"|[Tt]rue|TRUE|[Ff]alse|FALSE|[Nn]ull|NULL|~"
    rf"|(?:(?!{_TYPED_WORD} *+(?:\n|\Z))[A-Za-z/({_BMP}{_ASTRAL}]|[0-9_](?=[^\n]*(?:/| [A-Ya-y])))"
    rf"{_PLAIN}*+(?:(?::(?=[^ \n])|(?<! )#|[{_ASTRAL}]){_PLAIN}*+)*+"  # `:x`, `x#` are text
)
_COMMON_ENTRY = rf"{_COMMON_KEY}(?: ++(?:{_COMMON_VALUE}|{_ISO_TOKEN})|)"
_COMMON_LINE = rf" {{0,39}}(?:{_COMMON_ENTRY}|- (?:{_COMMON_ENTRY}|{_COMMON_VALUE}))"
# (`(?:x|)` rather than `(?:x)?`: `re` runs the empty branch faster than a repeat.)
_COMMON = rf"(?:(?:{_COMMON_LINE}|)\n)*+(?:{_COMMON_LINE}|)"
# In a document `_COMMON` matched, the plain timestamps: each follows `key: ` and fills
# the rest of its line, which no quoted or plain text can do. (Led by `: `, which `re`
# skips to quickly: one pattern that also found quoted timestamps was 8x slower.)
_COMMON_STAMPS = re.compile(rf": ++({_ISO_TOKEN})(?=\n|\Z)")


def _construct_timestamp(constructor: Any, node: ScalarNode) -> Any:
    """PyYAML's timestamp, except that a leap second (`:60`) reads as `:59`, and that one
    naming no moment (`2024-02-30`, `25:00`, an offset `+00:60`) is text: PyYAML refused
    the whole document for it, naming no field, or read `+00:60` as `+01:00`."""
    text = constructor.construct_scalar(node)
    match = constructor.timestamp_regexp.match(text)
    if match and match["tz_minute"] and match["tz_minute"] >= "60":
        return text
    try:
        return constructor.construct_yaml_timestamp(node)
    except ValueError:
        if not match or match["second"] != "60":
            return text
    leap = f"{text[: match.start('second')]}59{text[match.end('second') :]}"
    try:
        return constructor.construct_yaml_timestamp(ScalarNode(node.tag, leap))
    except ValueError:
        return text


class _UniqueKeys:
    """A loader mix-in that refuses a mapping giving a key twice (see `_check_unique_keys`)."""

    def flatten_mapping(self, node: MappingNode) -> None:
        # Called on every mapping before it is built, first with its keys as written; a
        # merge (`<<`) then puts the merged keys before them, which may repeat them.
        checked: set[int] = self.__dict__.setdefault("_unique_keys_checked", set())
        if id(node) not in checked:
            checked.add(id(node))
            _check_unique_keys(node)
        super().flatten_mapping(node)  # type: ignore[misc]


class SafeLoader(_UniqueKeys, _PyYAMLSafeLoader):
    """PyYAML's safe loader (C when libyaml is there), reading leap seconds as :59 and
    refusing a mapping that gives a key twice."""


class UniqueKeysLoader(_UniqueKeys, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader (what `yaml.safe_load` uses), refusing a mapping that
    gives a key twice: for the config file, where `strict: true` then `strict: false` was
    read as not strict."""


def _check_unique_keys(node: MappingNode) -> None:
    """Raise unless every key of `node` is given once (merges aside), as YAML requires.

    PyYAML keeps the last value silently: `published: false` then `published: true`
    published the record. yaml-rs refuses such a document, so both paths now agree.
    """
    seen: set[tuple[str, str]] = set()
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
            continue
        if (key.tag, key.value) in seen:
            raise ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key.value[:80]!r}",
                key.start_mark,
            )
        seen.add((key.tag, key.value))


_SURROGATE_ESCAPE = re.compile(r"\\(?:u[dD][89a-fA-F]|U0000[dD][89a-fA-F])")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE = re.compile(
    "[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]"
)


class _SurrogatePairLoader(_UniqueKeys, yaml.SafeLoader):
    """`SafeLoader` in pure Python, reading the escapes of a UTF-16 surrogate pair in a
    double-quoted text (`"\\ud83d\\ude00"`, JSON's way to write a character past U+FFFF)
    as that one character, which libyaml refuses ("found invalid Unicode character escape
    code") and yaml-rs reads; a lone surrogate escape is no character, and an error."""

    def construct_scalar(self, node: Any) -> Any:
        value = super().construct_scalar(node)
        if node.style != '"' or not _SURROGATE.search(value):
            return value
        lone = _LONE_SURROGATE.search(value)
        if lone is not None:
            escape = f"\\u{ord(lone.group()):04x}"
            raise ConstructorError(
                None,
                None,
                f"found a lone surrogate escape '{escape}': half of a UTF-16 pair, not a character",
                node.start_mark,
            )
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


class _Constructor(SafeConstructor):
    """The constructor `pyyaml_plain` types tokens with: the one `SafeLoader` uses."""


class _CoreResolver(BaseResolver):
    """The resolver `pyyaml_plain` types tokens with: the one `SafeLoader` uses."""


# YAML 1.2's core schema (its section 10.3.2) for plain scalars, as yaml-rs, js-yaml and
# go-yaml read them, instead of YAML 1.1's: `NO` (Norway), `yes`, `off` and `12:30` (750)
# are text, `017` is 17 (not octal 15), `0o17` is 15. PyYAML's timestamps stay: records
# write their dates unquoted.
_CORE_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_CORE_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_KEPT_FROM_YAML_1_1 = {"tag:yaml.org,2002:null", TIMESTAMP_TAG, MERGE_TAG}


def _construct_core_int(constructor: Any, node: ScalarNode) -> int | str:
    text: str = constructor.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    try:
        return int(text, 10)  # `017` is 17 and `-0` is 0, as YAML 1.2 reads them
    except ValueError:  # more digits than Python reads (4,300): kept as written
        return text


def _use_core_schema(target: type[BaseResolver]) -> None:
    """Give `target` (a loader or resolver class) the core schema's implicit types."""
    target.yaml_implicit_resolvers = {}
    for tag, pattern, first in (
        ("tag:yaml.org,2002:bool", _CORE_BOOL, "tTfF"),
        ("tag:yaml.org,2002:int", _CORE_INT, "-+0123456789"),  # before the floats: `17`
        ("tag:yaml.org,2002:float", _CORE_FLOAT, "-+.0123456789"),
    ):
        target.add_implicit_resolver(tag, pattern, list(first))
    for first, resolvers in Resolver.yaml_implicit_resolvers.items():
        for tag, pattern in resolvers:
            if tag in _KEPT_FROM_YAML_1_1:
                target.add_implicit_resolver(tag, pattern, [first])


for _loader in (SafeLoader, _SurrogatePairLoader, _CoreResolver):
    _use_core_schema(_loader)
for _typer in (SafeLoader, _SurrogatePairLoader, _Constructor):
    _typer.add_constructor(TIMESTAMP_TAG, _construct_timestamp)
    _typer.add_constructor("tag:yaml.org,2002:int", _construct_core_int)

_resolver = _CoreResolver()
_constructor = _Constructor()
_FALLBACK = object()


@functools.cache
def common_shapes() -> re.Pattern[str]:
    """`_COMMON`, compiled: 150-180 ms (its classes of most of Unicode each become a
    bitmap), so a process compiles it only once it has many documents to read."""
    return re.compile(_COMMON)


WARM_AFTER = 500
"""Documents a process reads with PyYAML alone before it compiles `common_shapes`: the
first hundreds then cost ~170 us more each, but a rebuild that reads a few changed files
(and every `feedpub` command that reads none) starts 0.15 s sooner. A pool worker, or a
batch of more files than this, compiles it at once (`warm_up`)."""
_cold_documents = 0


def warm_up() -> None:
    """Compile the fast path's pattern now, for a process about to read many documents."""
    global _cold_documents
    common_shapes()
    _cold_documents = WARM_AFTER


def load_yaml(text: str) -> Any:
    """What `yaml.load(text, Loader=CSafeLoader)` returns (and raises), but that the escapes
    of a surrogate pair are one character (see `_SurrogatePairLoader`)."""
    global _cold_documents
    if yaml_rs is not None:
        if _cold_documents >= WARM_AFTER:
            fast = _fast_or_fallback(text)
            if fast is not _FALLBACK:
                return fast
        else:
            _cold_documents += 1
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError:
        if not _SURROGATE_ESCAPE.search(text):
            raise
    return yaml.load(text, Loader=_SurrogatePairLoader)  # (its error if it fails too)


def takes_fast_path(text: str) -> bool:
    """True when `load_yaml(text)` is yaml-rs's result (retyped), not PyYAML's, in a
    process that has compiled the fast path (see `WARM_AFTER`)."""
    return yaml_rs is not None and _fast_or_fallback(text) is not _FALLBACK


def _fast_or_fallback(text: str) -> Any:
    return _load_common(text) if common_shapes().fullmatch(text) else _load_checked(text)


def _load_common(text: str) -> Any:
    """yaml-rs's result for a document `_COMMON` matched, its plain timestamps retyped."""
    try:
        data = yaml_rs.loads(text, parse_datetime=False)
    except Exception:
        return _FALLBACK  # PyYAML then says what is wrong
    plain = _COMMON_STAMPS.findall(text)
    if not plain:
        return data
    for token in plain:
        # A text equal to a timestamp can only be written so, quoted (its escapes cannot
        # make one): the same text once a timestamp, once text, which is which?
        if f'"{token}"' in text or f"'{token}'" in text:
            return _FALLBACK
    try:
        values = {token: _timestamp(token) for token in plain}
    except Exception:
        return _FALLBACK  # out of range: PyYAML's error
    return data if _retype(data, values, len(plain)) == len(plain) else _FALLBACK


def _load_checked(text: str) -> Any:
    """yaml-rs's result for a document that passes the gate and token checks, retyped."""
    outline = _outline(text)
    return _fast_load(text, outline) if _gate_passes(text, outline) else _FALLBACK


def _outline(text: str) -> str:
    """`text` between line breaks, with every plain double-quoted value emptied."""
    return _QUOTED_VALUE.sub('""', "\n" + text + "\n")


def _gate_passes(text: str, outline: str) -> bool:
    if not _GATE_CHARACTERS.fullmatch(text):
        return False
    return not (
        _GATE_NODES.search(outline) or _GATE_LINES.search(outline) or _GATE_NESTED.search(outline)
    )


def pyyaml_plain(token: str) -> Any:
    """The value PyYAML gives `token` written as a plain scalar."""
    tag: str = _resolver.resolve(ScalarNode, token, (True, False))  # type: ignore[no-untyped-call]
    return _constructor.yaml_constructors[tag](_constructor, ScalarNode(tag, token))


def _fast_load(text: str, outline: str) -> Any:
    try:
        data = yaml_rs.loads(text, parse_datetime=False)
    except Exception:
        return _FALLBACK
    for key in set(_KEY.findall(outline)).difference(_SAME_KEYS):
        if not _DECIMAL.match(key) and _typing(key) != "same":
            return _FALLBACK
        _remember(_SAME_KEYS, key)
    stamps: Counter[str] = Counter()
    for found in _VALUE.findall(outline) + _ITEM.findall(outline):
        if found in _SAME_VALUES:
            continue
        token = found[: found.index(" #")] if " #" in found else found
        token = token.rstrip(" ")
        if _DECIMAL.match(token):
            typing = "same"
        elif _ISO_STAMP.match(token):
            typing = "stamp"
        else:
            typing = _typing(token)
        if typing == "stamp":
            stamps[token] += 1
        elif typing != "same":
            return _FALLBACK
        else:
            _remember(_SAME_VALUES, found)
    if not stamps:
        return data
    for token, count in stamps.items():
        if text.count(f"'{token}'") or text.count(f'"{token}"') or text.count(token) != count:
            return _FALLBACK  # also written quoted, or inside other text: ambiguous
    try:
        values = {token: _timestamp(token) for token in stamps}
    except Exception:
        return _FALLBACK
    # Looking for one more than expected: an escaped double-quoted text can equal a
    # timestamp (`"...\x5a"`) without holding it, and must stay text.
    expected = stamps.total()
    return data if _retype(data, values, expected + 1) == expected else _FALLBACK


_SAME_KEYS: set[str] = set()
_SAME_VALUES: set[str] = set()
"""Keys and value tokens (as found, comment included) already known to mean the same to
both parsers: most records repeat a few dozen (`title`, `1920`, `true`), so each is looked
up once in a set instead of going through the checks again."""
_REMEMBERED = 4096


def _remember(known: set[str], token: str) -> None:
    if len(known) >= _REMEMBERED:
        known.clear()  # bounded: a stream of distinct tokens cannot grow it without end
    known.add(token)


@functools.lru_cache(maxsize=4096)
def _typing(token: str) -> str:
    """ "same" when both parsers give plain `token` one value, "stamp" for a PyYAML timestamp."""
    try:
        ours = pyyaml_plain(token)
        theirs = yaml_rs.loads(f"k: {token}", parse_datetime=False)["k"]
    except Exception:
        return "different"
    if isinstance(ours, date) and theirs == token:
        return "stamp"
    if type(ours) is not type(theirs):
        return "different"
    if isinstance(ours, float) and math.isnan(ours):
        return "same" if math.isnan(theirs) else "different"
    return "same" if ours == theirs else "different"


def _timestamp(token: str) -> Any:
    if _ISO_STAMP.match(token) and (token[-1] == "Z" or token[-2:] < "60"):
        try:
            return datetime.fromisoformat(token)
        except ValueError:
            pass  # out of range: PyYAML's constructor says how
    return pyyaml_plain(token)


def _retype(data: Any, stamps: dict[str, Any], limit: int) -> int:
    """Replace in `data` (in place: the data is ours) the texts found in `stamps` by
    their values, stopping after `limit` of them; returns how many were replaced. The
    top level is done first (usually all of them are there), then the nested ones."""
    replaced = 0
    stack = [data]
    while stack and replaced < limit:
        node = stack.pop()
        pairs = node.items() if type(node) is dict else enumerate(node)
        for key, value in pairs:
            kind = type(value)
            if kind is str:
                if value in stamps:
                    node[key] = stamps[value]
                    replaced += 1
            elif kind is dict or kind is list:
                stack.append(value)
    return replaced


def same_value(a: Any, b: Any) -> bool:
    """Deep equality with identical types (1 != 1.0 != True) and time zones: what
    "the fast parser gives PyYAML's result" means, for the checks of this module."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return same_value(list(a), list(b)) and same_value(list(a.values()), list(b.values()))
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, datetime):
        return a == b and repr(a) == repr(b)  # the same instant in the same zone
    return bool(a == b) or (a != a and b != b)  # NaN equals NaN here
