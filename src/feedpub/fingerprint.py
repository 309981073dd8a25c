"""What a record cache's contents depend on: a mismatch means the cache is rebuilt."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from dataclasses import fields
from importlib import metadata
from pathlib import Path

import yaml

import feedpub
from feedpub.cache import SCHEMA_VERSION
from feedpub.config import Config

# Modules whose code decides what a record becomes or what the cache keeps of it (winner
# flags, topic counts); any change to them invalidates caches. The tables' layout is
# versioned by cache.SCHEMA_VERSION.
CONVERSION_MODULES = (
    "records.py", "yaml_loader.py", "convert.py", "sanitize.py", "timestamps.py", "topics.py",
    "model.py", "codec.py", "parse_pool.py", "select.py", "cache_select.py", "incremental.py",
    "dumps.py",
)  # fmt: skip
LIBRARIES = ("PyYAML", "yaml-rs", "nh3", "idna", "cmarkgfm", "python-slugify", "ftfy")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


@functools.cache
def _code_fingerprint() -> bytes:
    """The conversion code and libraries this process runs (read once: they do not change)."""
    digest = hashlib.sha256(f"schema {SCHEMA_VERSION} feedpub {feedpub.__version__}\n".encode())
    package = Path(feedpub.__file__).parent
    for module in CONVERSION_MODULES:
        with contextlib.suppress(OSError):
            digest.update(module.encode() + b"\0" + (package / module).read_bytes())
    for library in LIBRARIES:
        digest.update(f"{library}={_version(library)}\n".encode())
    digest.update(f"libyaml={getattr(yaml, '__with_libyaml__', False)}\n".encode())
    return digest.digest()


def fingerprint(config: Config) -> str:
    """What the cached conversions depend on: code, libraries, limits and records folder."""
    digest = hashlib.sha256(_code_fingerprint())
    limits = {f.name: getattr(config.limits, f.name) for f in fields(config.limits)}
    digest.update(json.dumps(limits, sort_keys=True).encode())
    # (realpath, not Path.resolve: a records folder swapped for a symbolic link loop while
    # serving is reported by the build as not found, not raised as RuntimeError here)
    records = os.path.realpath(config.records)
    digest.update(records.encode("utf-8", "surrogateescape"))
    digest.update(b"publish_future" if config.publish_future else b"hold_future")
    return digest.hexdigest()
