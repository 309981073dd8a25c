"""Config loading: defaults, every key validated, unknown keys named, the committed file."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from feedpub.config import Config, Limits, ServerConfig, load_config
from feedpub.errors import ConfigError

from .conftest import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_committed_config_documents_every_key_with_its_default() -> None:
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    top = {f.name for f in fields(Config)}
    assert set(data) == top
    assert set(data["limits"]) == {f.name for f in fields(Limits)}
    assert set(data["server"]) == {f.name for f in fields(ServerConfig)}
    loaded = load_config(REPO / "config.yaml")
    defaults = Config()
    assert loaded.limits == defaults.limits
    assert loaded.server == defaults.server
    assert loaded.base_url == defaults.base_url
    assert loaded.max_items == defaults.max_items


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "records: recs\nout: /abs/out\n"))
    assert config.records == tmp_path / "recs"
    assert config.out == Path("/abs/out")


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing\n"))
    assert config.max_items == Config().max_items
    assert config.records == tmp_path / "records"
    assert config.out == tmp_path / "feeds"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("max_itemz: 5\n", "max_itemz: unknown key"),
        ("limits:\n  max_topicz: 3\n", "limits.max_topicz: unknown key"),
        ("max_items: lots\n", "max_items: must be an integer"),
        ("max_items: 0\n", "max_items: must be 1..10000"),
        ("max_items: true\n", "max_items: must be an integer"),
        ("strict: 'yes'\n", "strict: must be true or false"),
        ("base_url: ftp://example.org\n", "base_url: must be an absolute http(s) URL"),
        ("base_url: example.org\n", "base_url: must be an absolute http(s) URL"),
        ("language: 'english please'\n", "language: not a language tag"),
        ("server:\n  port: 70000\n", "server.port: must be 0..65535"),
        ("limits: 5\n", "limits: must be a mapping"),
        ("records: [a, b]\n", "records: must be a folder path"),
        ("- a\n- b\n", "must be a mapping of keys"),
        ("title: [unclosed\n", "not valid YAML"),
        ("x: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace(")", r"\)")):
        load_config(write(tmp_path, text))


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_base_url_trailing_slash_is_dropped() -> None:
    assert Config(base_url="https://example.org/news/").base_url == "https://example.org/news"


def test_replace_validates() -> None:
    with pytest.raises(ConfigError, match="max_items"):
        Config().replace(max_items=-1)


@pytest.mark.parametrize("key", ["title", "description"])
def test_control_characters_in_feed_text_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=f"{key}: must not hold control characters"):
        load_config(write(tmp_path, f'{key}: "bad\\x01title"\n'))


def test_yaml_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, "title: [unclosed\nmore: x\n"))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("records: .\nout: feeds\n", "out: must not be inside the records folder"),
        ("records: data\nout: data\n", "out: must not be the records folder"),
        ("records: data\nout: data/site/feeds\n", "out: must not be inside the records folder"),
        ("records: data\ncache_dir: data/cache\n", "cache_dir: must not be inside the records"),
    ],
)
def test_output_and_cache_folders_outside_the_records_folder(
    tmp_path: Path, text: str, named: str
) -> None:
    """Feeds written among the records would be read back as records (reports, and a
    --strict build that fails from its second run on)."""
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=named):
        load_config(config)


@pytest.mark.parametrize(
    "text",
    [
        "records: data\nout: site\n",  # beside it
        "records: data\nout: data/.site\n",  # hidden: never read as records
        "records: .\nout: .public\ncache_dir: .cache\n",
        "records: data/records\nout: data\n",  # the records inside the output: harmless
    ],
)
def test_folders_that_are_not_read_as_records_are_accepted(tmp_path: Path, text: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    load_config(config)
