"""Reports are one line each, whatever the file name or the value holds."""

from __future__ import annotations

from feedpub.report import Report


def test_report_line_format() -> None:
    assert (
        str(Report("records/a.md", "title", "must be text")) == "records/a.md: title: must be text"
    )


def test_control_characters_cannot_forge_report_lines() -> None:
    line = str(Report("records/evil\nrecords/x.md: title: fake.md", "title", "bad\r\x1b[2J"))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.startswith("records/evil\\nrecords/x.md")
