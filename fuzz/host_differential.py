"""Compare the host names feedpub publishes with the ones a WHATWG URL parser reads.

Builds random host names from letters that IDNA handles in different ways (ß and ς,
joiners, right-to-left digits, emoji, full-width and compatibility forms, combining marks,
soft hyphens), puts each in `https://HOST/`, and asks both feedpub (`safe_url`) and Node's
`URL` (the WHATWG standard, as browsers and JavaScript feed readers parse) for the host. A
host feedpub publishes otherwise than Node reads it is a defect; one that feedpub refuses
and Node takes is only a link left out. Needs `node` on the PATH.

    python fuzz/host_differential.py [--hosts 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess

from feedpub.sanitize import safe_url

LETTERS = [
    *"abcxyz019-", *"ßςσΣüÜéÉöñçåøæ東京中文한국어日本ãõ",
    "\u200d", "\u200c", "\u0661", "\u05d0", "\u0627", "💩", "☕", "ａ", "。", "ﬀ", "Ⅷ", "ⓐ",
    "\u00ad", "\u0301", "İ", "ı", "K",
]  # fmt: skip
TOP = [".example", ".de", ".中国", ".com"]
NODE_HOSTS = (
    "const hosts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
    "console.log(JSON.stringify(hosts.map(h => {"
    " try { return new URL('https://' + h + '/').host } catch (e) { return null } })))"
)


def random_hosts(count: int, rng: random.Random) -> list[str]:
    """`count` host names of one to three random labels and a top-level domain."""
    hosts = []
    for _ in range(count):
        labels = [
            "".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 8)))
            for _ in range(rng.randint(1, 3))
        ]
        hosts.append(".".join(labels) + rng.choice(TOP))
    return hosts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    hosts = random_hosts(args.hosts, random.Random(args.seed))
    done = subprocess.run(
        ["node", "-e", NODE_HOSTS], input=json.dumps(hosts), capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    read_by_node: list[str | None] = json.loads(done.stdout)
    differ = left_out = taken_by_both = 0
    for host, node_host in zip(hosts, read_by_node, strict=True):
        published = safe_url(f"https://{host}/")
        ours = published[len("https://") : -1] if published else None
        if ours is None:
            left_out += node_host is not None
        elif ours == node_host:
            taken_by_both += 1
        else:
            differ += 1
            print(f"differs: {host!r}: feedpub {ours}, node {node_host}")
    print(
        f"{len(hosts)} hosts: the same host {taken_by_both}, published otherwise {differ},"
        f" left out by feedpub only {left_out}, refused by node {read_by_node.count(None)}"
    )


if __name__ == "__main__":
    main()
