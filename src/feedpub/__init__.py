"""feedpub: article records in; valid, fast, cache-friendly RSS, Atom and JSON feeds out."""

from __future__ import annotations

__version__ = "0.1.0"

from feedpub.config import Config, load_config
from feedpub.errors import (
    BuildError,
    ConfigError,
    FeedpubError,
    RecordError,
    TopicNotFound,
)

__all__ = [
    "BuildError",
    "Config",
    "ConfigError",
    "FeedpubError",
    "RecordError",
    "TopicNotFound",
    "__version__",
    "load_config",
]
