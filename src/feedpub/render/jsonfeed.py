"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""

from __future__ import annotations

import json
from typing import Any

from feedpub.model import Article, Feed

VERSION = "https://jsonfeed.org/version/1.1"


def render_json_feed(feed: Feed) -> bytes:
    """The feed as a JSON Feed 1.1 document (UTF-8 bytes, stable key order)."""
    document: dict[str, Any] = {
        "version": VERSION,
        "title": feed.info.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.url_for(".json"),
        "description": feed.info.description,
        "language": feed.language,
        "authors": [{"name": feed.site_title, "url": feed.home_url}],
    }
    if feed.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
    document["items"] = [_item(article) for article in feed.articles]
    text = json.dumps(document, ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")


def _item(article: Article) -> dict[str, Any]:
    item: dict[str, Any] = {"id": article.id}
    if article.url:
        item["url"] = article.url
    item["title"] = article.title
    if article.summary:
        item["summary"] = article.summary
    item["content_html"] = article.content_html
    if article.images:
        item["image"] = article.images[0].url
    item["date_published"] = article.published.isoformat()
    item["date_modified"] = article.updated.isoformat()
    if article.provider:
        author = {"name": article.provider.name}
        if article.provider.url:
            author["url"] = article.provider.url
        item["authors"] = [author]
    if article.categories:
        item["tags"] = list(article.categories)
    if article.images:
        item["attachments"] = [
            {
                "url": image.url,
                "mime_type": image.mime_type,
                **({"title": image.title} if image.title else {}),
            }
            for image in article.images
        ]
    return item
