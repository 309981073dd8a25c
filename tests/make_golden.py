"""Regenerate the golden feeds: `make golden` (then review the diff before committing).

The golden test never writes these files; only this script does.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from feedpub.build import BuildStats, build_site
from feedpub.config import Config
from feedpub.render import render_site

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
GOLDEN_CONFIG = {"base_url": "https://feeds.example.com", "title": "Golden", "max_items": 10}


def golden_outputs() -> dict[str, bytes]:
    """The outputs of the golden records, as the golden test builds them."""
    config = Config(records=GOLDEN / "records", **GOLDEN_CONFIG)  # type: ignore[arg-type]
    return render_site(build_site(config, lambda report: None, BuildStats(), use_cache=False))


def main() -> None:
    expected = GOLDEN / "expected"
    shutil.rmtree(expected, ignore_errors=True)
    for relative, data in golden_outputs().items():
        target = expected / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    print(f"wrote {expected}", file=sys.stderr)


if __name__ == "__main__":
    main()
