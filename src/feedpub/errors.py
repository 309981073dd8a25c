"""The whole exception tree of feedpub: one root, one class per kind of failure."""

from __future__ import annotations


class FeedpubError(Exception):
    """Root of every error feedpub raises on purpose."""


class ConfigError(FeedpubError, ValueError):
    """A configuration file, key or value is unusable; the message names the key."""


class RecordError(FeedpubError, ValueError):
    """A record cannot be used; carries the file (and entry) and the field at fault."""

    def __init__(self, source: str, field: str, reason: str) -> None:
        super().__init__(f"{source}: {field}: {reason}")
        self.source = source
        self.field = field
        self.reason = reason


class BuildError(FeedpubError):
    """A build cannot run or finish (missing folder, nothing to publish, write failure)."""


class TopicNotFound(FeedpubError, LookupError):
    """No feed exists for the requested topic slug."""
