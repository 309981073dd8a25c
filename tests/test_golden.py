"""The feeds of a small fixed sample, compared byte for byte with reviewed golden files.

Regenerate with `make golden` after an intended change, and review the diff.
"""

from __future__ import annotations

import pytest

from .make_golden import GOLDEN, golden_outputs

EXPECTED = GOLDEN / "expected"


def test_golden_file_set_matches() -> None:
    produced = set(golden_outputs())
    expected = {p.relative_to(EXPECTED).as_posix() for p in EXPECTED.rglob("*") if p.is_file()}
    assert produced == expected


@pytest.mark.parametrize(
    "relative",
    sorted(p.relative_to(EXPECTED).as_posix() for p in EXPECTED.rglob("*") if p.is_file()),
)
def test_golden_file(relative: str) -> None:
    assert golden_outputs()[relative] == (EXPECTED / relative).read_bytes(), (
        f"{relative} differs from the golden file; run `make golden` if the change is intended"
    )
