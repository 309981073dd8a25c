"""Generate N seed-like article records, deterministically: the same seed gives the same bytes.

Records look like the real ones (shared/seed, shared/corpus/real): YAML front matter with
title, excerpt, timestamps (unquoted `...Z` and quoted `-07:00` offsets), URLs, provider,
topics (free text: case, spaces, unicode), images, related articles, a `secured` blob, some
Markdown bodies, some unpublished records and some duplicates of one `webUrl`.

    python benchmarks/generate.py OUT_DIR --records 100000 [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

TOPICS = (
    "AI", "Machine Learning", "Power Apps", "Portals", "Climate", "Coronavirus",
    "Economic Impact", "New Cases", "Coronavirus in US", "Space", "Exoplanets", "Health",
    "Vaccines", "Markets", "Crypto", "Energy", "Électricité", "Économie", "Tokyo 2020",
    "東京", "Mobility", "Robotics", "Security", "Privacy", "Open Source", "Python", "Rust",
    "Cloud", "Data", "Startups", "Regulation", "Education", "Music", "Film", "Games",
    "Football", "Tennis", "Olympics", "Travel", "Food", "Science", "Physics", "Biology",
    "Chemistry", "Oceans", "Wildlife", "Elections", "Europe", "Asia", "Africa", "C++",
    "Zürich", "São Paulo", "Straße", "Quantum Computing", "5G", "Semiconductors", "EVs",
    "Batteries", "Solar", "Wind Power", "Nuclear", "Housing", "Jobs", "Inflation", "Banks",
)  # fmt: skip
VARIANTS = {"AI": ("ai", "A.I."), "Machine Learning": ("machine  learning", "Machine learning")}
WORDS = (
    "study", "finds", "new", "report", "market", "growth", "risk", "record", "data", "model",
    "city", "plan", "court", "rules", "energy", "prices", "launch", "vote", "deal", "team",
    "école", "naïve", "café", "über", "smörgåsbord", "piñata", "façade", "東京", "データ",
    "rocket", "vaccine", "trial", "chip", "cloud", "open", "source", "bank", "rate", "storm",
)  # fmt: skip
PROVIDERS = (
    ("NBC News", "nbcnews.com"), ("Forbes", "forbes.com"), ("New York Times", "nytimes.com"),
    ("BBC", "bbc.co.uk"), ("Le Monde", "lemonde.fr"), ("NHK", "nhk.or.jp"),
    ("The Verge", "theverge.com"), ("Reuters", "reuters.com"), ("Nature", "nature.com"),
)  # fmt: skip
START = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 5 * 365 * 86400
PACIFIC = timezone(timedelta(hours=-7))


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stamp(rng: random.Random, moment: datetime) -> str:
    if rng.random() < 0.3:  # quoted, with an offset, like the JSON-API records
        local = moment.astimezone(PACIFIC)
        return "'" + local.isoformat() + "'"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _topics(rng: random.Random) -> list[str]:
    count = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
    chosen: list[str] = []
    for _ in range(count):
        name = TOPICS[min(int(rng.paretovariate(0.8)) - 1, len(TOPICS) - 1)]
        if rng.random() < 0.5:
            name = rng.choice(TOPICS)
        if name in VARIANTS and rng.random() < 0.2:
            name = rng.choice(VARIANTS[name])
        chosen.append(name)
    return chosen


def record(rng: random.Random, index: int, duplicate_of: str | None) -> tuple[str, str]:
    """One record's text and its URL."""
    name, domain = rng.choice(PROVIDERS)
    slug = f"{index}-{rng.getrandbits(40):010x}"
    url = duplicate_of or f"https://www.{domain}/news/{slug}"
    published = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
    title = _words(rng, 4, 12).capitalize()
    if rng.random() < 0.05:
        title += " &amp; <b>more</b>"
    lines = [
        "---",
        "category: news",
        f"title: {_quote(title)}",
        f"excerpt: {_quote(_words(rng, 20, 60).capitalize() + '.')}",
        f"publishedDateTime: {_stamp(rng, published)}",
    ]
    if duplicate_of or rng.random() < 0.1:
        updated = published + timedelta(seconds=rng.randrange(1, 30 * 86400))
        lines.append(f"updatedDateTime: {_stamp(rng, updated)}")
    lines += [f"originalUrl: {_quote(url)}", f"webUrl: {_quote(url)}"]
    lines += [
        f'ampWebUrl: "https://www.{domain}/amp/{slug}"',
        "type: article",
        f"quality: {rng.randint(-1, 189)}",
        f"heat: {rng.randint(0, 265)}",
        f"published: {'false' if rng.random() < 0.05 else 'true'}",
        "",
        "provider:",
        f"  name: {name}",
        f"  domain: {domain}",
        "",
        "topics:",
        *(f"  - {_quote(topic)}" for topic in _topics(rng)),
    ]
    if rng.random() < 0.9:
        lines += ["", "images:"]
        for number in range(rng.choice((1, 1, 1, 2))):
            lines += [
                f'  - url: "https://media.{domain}/img/{slug}-{number}.jpg"',
                f"    width: {rng.choice((640, 1280, 1920))}",
                f"    height: {rng.choice((360, 720, 1080))}",
                "    isCached: true",
            ]
    if rng.random() < 0.4:
        lines += ["", "related:"]
        for _ in range(rng.randint(1, 3)):
            other, other_domain = rng.choice(PROVIDERS)
            moment = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
            lines += [
                f"  - title: {_quote(_words(rng, 4, 10).capitalize())}",
                f"    excerpt: {_quote(_words(rng, 10, 30).capitalize() + '.')}",
                f"    publishedDateTime: {moment.strftime('%Y-%m-%dT%H:%M:%SZ')}",
                f'    webUrl: "https://www.{other_domain}/r/{rng.getrandbits(40):010x}"',
                "    type: article",
                "    provider:",
                f"      name: {other}",
                f"      domain: {other_domain}",
                f"    quality: {rng.randint(0, 100)}",
            ]
    secured = hashlib.sha256(slug.encode()).hexdigest() * 8
    lines += ["", f'secured: "{secured}==;{secured[:22]}=="', "---"]
    body = ""
    if rng.random() < 0.02:  # the real records have no body; a few here exercise Markdown
        body = (
            f"\n{_words(rng, 30, 80).capitalize()}.\n\n*{_words(rng, 3, 6)}*, **[link]({url})**\n"
        )
    return "\n".join(lines) + "\n" + body, url


def generate(out: Path, records: int, seed: int = 1) -> list[Path]:
    """Write `records` files into `out` (created); return their paths."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    urls: list[str] = []
    paths: list[Path] = []
    for index in range(1, records + 1):
        duplicate = rng.choice(urls) if urls and rng.random() < 0.02 else None
        text, url = record(rng, index, duplicate)
        urls.append(url)
        digest = hashlib.sha1(url.encode()).hexdigest()[:16]
        path = out / f"{index:06d}_{digest}.txt"
        path.write_bytes(text.encode("utf-8"))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.records, args.seed)


if __name__ == "__main__":
    main()
