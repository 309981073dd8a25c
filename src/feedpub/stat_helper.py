"""Half of a big folder's `stat` calls made in a helper process, on the other core.

A rebuild must `stat` every record file to see what changed: at 100,000 files that is most
of a one-shot rebuild, and most of the time of one `os.stat` is the interpreter's (the
result object), so threads do not help. A helper process (this file run as a script by
the same interpreter, importing nothing but the standard library's `os`, `sys` and
`marshal`) gets the open folder's descriptor and a list of names, and sends back, for each
name, its (name, size, mtime_ns) when it is a regular file, or the name alone for anything
else (gone, a folder, a special file, a link that leads nowhere), which the caller then
looks at itself as it looks at any name. Any failure (no interpreter to start, the helper
killed, an answer that is not what it should be) leaves the caller to `stat` those names
itself: the helper only ever saves time.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat as stat_module
import subprocess
import sys

MIN_FOLDER_BYTES = 256 * 1024
"""A folder whose own size is at least this holds many thousands of entries on ext4, XFS
and btrfs (a folder's size grows with its entries; ~5 MB for 100,000): starting a helper
(about 20 ms of the other core) pays off only then."""

HELPER_SHARE = 0.45
"""The part of the names the helper takes: a little under half, as it starts late."""

Found = tuple[str, int, int]  # a regular file's name, size and mtime_ns


class StatHelper:
    """A helper process started for one open folder: `send` it names, then take its
    `answer`."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._sent = -1

    @classmethod
    def start(cls, descriptor: int) -> StatHelper | None:
        """A helper for the folder open as `descriptor`, when the folder is big enough to
        be worth one and one can be started (POSIX only: it needs `dir_fd`)."""
        if os.name != "posix" or not sys.executable:
            return None
        try:
            if os.fstat(descriptor).st_size < MIN_FOLDER_BYTES:
                return None
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, str(descriptor)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                pass_fds=(descriptor,),
            )
        except (OSError, ValueError):
            return None
        return cls(process)

    def send(self, names: list[str]) -> bool:
        """Hand the helper the `names` to look at; False when it cannot take them."""
        stream = self._process.stdin
        try:
            if stream is None:
                raise ValueError("no pipe to the helper")
            stream.write(marshal.dumps(names))
            stream.close()
        except (OSError, ValueError):
            self.stop()
            return False
        self._sent = len(names)
        return True

    def answer(self) -> tuple[list[Found], list[str]] | None:
        """The regular files the helper found among the names sent (in name order) and the
        other names, or None when it could not say (the caller then looks at every name)."""
        stream = self._process.stdout
        try:
            data = stream.read() if stream is not None else b""
            status = self._process.wait()
        except (OSError, ValueError):
            self.stop()
            return None
        try:
            files, others = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        if status != 0 or not (type(files) is list and type(others) is list):
            return None
        if len(files) + len(others) != self._sent:
            return None
        return files, others

    def stop(self) -> None:
        """End the helper if it still runs, and close its pipes (called once done with it)."""
        process = self._process
        with contextlib.suppress(OSError):
            if process.poll() is None:
                process.kill()
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):  # (unsent bytes to a dead helper: BrokenPipe)
                if stream is not None:
                    stream.close()
        process.wait()


def stat_each(descriptor: int, names: list[str]) -> tuple[list[Found], list[str]]:
    """What the helper does: `stat` each name in the folder open as `descriptor` (following
    links, as reading a record does) and split regular files from the rest."""
    files: list[Found] = []
    others: list[str] = []
    keep, stat, is_file = files.append, os.stat, stat_module.S_ISREG
    for name in sorted(names):  # name order: usually the inodes' order on disk
        try:
            found = stat(name, dir_fd=descriptor)
        except OSError:
            others.append(name)
            continue
        if is_file(found.st_mode):
            keep((name, found.st_size, found.st_mtime_ns))
        else:
            others.append(name)
    return files, others


def main() -> None:
    """The helper: names in (marshal) on stdin, `stat_each`'s answer out on stdout."""
    descriptor = int(sys.argv[1])
    names = marshal.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(marshal.dumps(stat_each(descriptor, names)))


if __name__ == "__main__":
    main()
