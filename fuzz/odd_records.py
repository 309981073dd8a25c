"""Generate odd-but-plausible and hostile feedpub records at scale, for the feed checkers.

usage: python fuzz/odd_records.py OUTDIR N SEED [--topics-only]
Writes N records: ~80% front-matter .md files, the rest as JSON / JSON Lines dumps.
Each record mixes a few weird values (URLs, texts, dates, topics, images, bodies; 660 in
all) with ordinary ones, so a checker's message can be tied to the weird fields. The same
arguments give the same files. See fuzz/README.md ("Feed checkers at scale").
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import yaml

LONG = "a" * 3000
URLS = [
    "https://xn--bcher-kva.example/path",
    "https://bücher.example/straße?q=ü#frag",
    "https://BÜCHER.example/A",
    "https://例え.テスト/パス",
    "https://münchen.de/",
    "https://☃.net/",
    "https://ｅｘａｍｐｌｅ.com/full",
    "http://192.168.0.1/a",
    "http://8.8.8.8:8080/x",
    "http://1.2.3.4./dot",
    "http://0x7f.1/hex",
    "http://999.1.1.1/bad",
    "https://[2001:db8::1]/v6",
    "https://example.com:443/p",
    "https://example.com:8443/a",
    "https://example.com:/emptyport",
    "https://example.com:99999/bigport",
    "http://example.com:80/",
    "https://example.com:0443/",
    "https://example.com/a%2Fb",
    "https://example.com/%7euser",
    "https://example.com/%zz",
    "https://example.com/%",
    "https://example.com/%E2%82%AC",
    "https://example.com/%e2%82%ac",
    "https://example.com/a b",
    "https://example.com/a\tb",
    " https://example.com/lead-trail ",
    "https://example.com/\u200bzw",
    "ftp://example.com/file",
    "mailto:someone@example.com",
    "tel:+15551234",
    "//example.com/protocol-relative",
    "/relative/path",
    "relative.html",
    "?q=only",
    "#frag-only",
    "https://example.com/" + "p" * 3000,
    "https://" + "l" * 70 + ".example.com/",
    "https://example.com./trailing-dot",
    "https://EXAMPLE.COM/UPPER",
    "https://example.com/?a=1&b=2",
    "https://example.com/?a=1;b=2",
    "https://example.com/?q=<script>",
    'https://example.com/?q="x"',
    "https://example.com/?",
    "https://example.com/#",
    "https://example.com/a?b#c#d",
    "https://example.com/a|b",
    "https://example.com/a^b",
    "https://example.com/a`b",
    "https://example.com/{x}",
    "https://example.com/[x]",
    "https://example.com/a\\b",
    "https://user@example.com/u",
    "https://example.com/..%2f..",
    "https://example.com/./a/../b",
    "https://example.com//double//slash",
    "https://example.com/a?q=%",
    "https://example.com/a?utm=1&amp;b=2",
    "https://www.example.com/ü?ä=ö#ß",
    "https://xn--zz.example/",
    "https://xn--/",
    "https://a.b.c.d.e.f.g.h.example.co.uk/",
    "https://-bad-.example.com/",
    "https://123/",
    "https://1.2.3/",
    "https://1e100.net/",
    "https://example.com/path;params",
    "https://example.com/~user",
    "https://example.com/a+b",
    "https://example.com/a'b",
    "https://example.com/a(b)",
    "https://example.com/a*b!c$d,e=f@g:h",
    "https://example.com/a#frag with space",
    "https://example.com/a#%",
    "https://example.com/a#<>",
    "https://example.com/a?q=1#",
    "https://example.com/％",
    "https://localhost/x",
    "https://intranet/x",
    "https://example/x",
    "https://a_b.example.com/x",
    "HTTPS://Example.org:443/a/./%7eb",
    "https://example.com/a%2f%2F",
    "https://example.com/%41%42",
    "https://example.com/a?x=%41",
    "https://example.com/a?x=a+b&y=c%20d",
    "https://example.com/a#x=%41",
    "https://example.com/\u202egpj.exe",
    "https://example.com/\ufeffbom",
    "https://example.com/a\nb",
    "http:/example.com/one-slash",
    "https:example.com/no-slash",
    "https:///three",
    "https://example.com:80:80/",
    "https://example.com/?q=\u00a0",
    "https://example.com/?%E0%A4%A=bad",
    "https://example.com/#%E0%A4%A",
    "https://example.com/a%00b",
    "https://example.com/a%0Ab",
    "https://example.com/a%7Fb",
    "https://example.com/a%C0%80",
    "https://www.example.com/ق",
    "https://xn--mgbh0fb.xn--kgbechtv/",
    "https://exa\u00admple.com/",
    "https://example.com/a%25",
    "https://example.com/a?%",
    "https://example.com/a?q=1&",
    "https://example.com/a?&",
    "https://EXAMPLE.com/%7E?%7E#%7E",
    "https://example.com/a/%2E%2E/b",
    "https://example.com/a/%2e/b",
    "https://example.com/a?q=%7e",
    "https://example.com/a#%7e",
    "https://example.com/a?q=%2F",
    "https://EXAMPLE.com/",
    "https://example.com",
    "https://example.com?x",
    "https://example.com#x",
    "https://www.example.fr/caf%E9.html",
    "https://example.com/cafe\u0301",
    "https://example.com/cafe%CC%81",
    "https://example.com/%C3%A9",
    "https://example.com/\u00e9",
    "https://example.com/?q=%FF",
    "https://example.com/#%FE",
    "https://example.com/\uff21",
    "https://example.com/\u212b",
    "https://example.com/\ufb01",
    "https://example.com/%EF%AC%81",
    "https://example.com/?q=\u0041\u030a",
    "https://example.com/%ED%A0%80",
    "https://example.com/%F4%90%80%80",
    "https://example.com/%EF%BF%BD",
    "https://example.com/%C2%80",
    "https://example.com/%00",
    "https://example.com/?a=%26lang%3Den",
]
NORMAL_URL = "https://news.example.org/story/{n}"

TEXTS = [
    "AT&amp;T",
    "AT&amp;amp;T",
    "&lt;b&gt;bold&lt;/b&gt;",
    "<i>x</i> y",
    "5 < 6 > 4",
    "a <b and c> d",
    "Tom & Jerry",
    "&eta; &pi;",
    "Pi &pi without semi",
    "&#x41;",
    "&#65",
    "&#xZZ;",
    "&#0;",
    "&#xD800;",
    "&#1114112;",
    "&bogus;",
    "R&D",
    "]]>",
    "<![CDATA[x]]> after",
    "<!-- c --> after",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u200fRTL mark",
    "🚀🔥👨‍👩‍👧",
    "W" * 600,
    "!!!???...",
    "—",
    "…",
    "\t tabs \n newlines \r",
    "line\u2028sep\u2029para",
    "\u00a0nbsp\u00a0",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗̻̊",
    "mail x@example.com",
    "<x@example.com>",
    "John <john@example.com>",
    "Check http://example.com now",
    "1e3",
    "true",
    "null",
    "~",
    "'quoted'",
    '"dq"',
    "\\backslash",
    "Title</title><script>x</script>",
    "</p> broken",
    "&amp;lt;/div&amp;gt;",
    "&lt;/b",
    "&#60;/b&#62;",
    "<3 love",
    "a<b",
    "x</y",
    "C<sub>2</sub>",
    "if (a<b && c>d)",
    "Math: 1 &lt; 2",
    "&nbsp;",
    "&shy;",
    "&zwnj;",
    "·",
    "rock &apos n roll",
    "this&not that",
    "&Auml;rger",
    "&copy2024",
    "&amp",
    "&lt;&gt;",
    "&#38;#38;",
    "中文标题",
    "日本語のタイトル",
    "한국어 제목",
    "ภาษาไทย",
    "हिन्दी",
    "Ελληνικά",
    "Кириллица",
    "<b></b>",
    "<br>",
    "&#x2028;",
    "&#133;",
    "&#128;",
    "&#x9;tab",
    "&#10;nl",
    "&#13;cr",
    "<![CDATA[",
    "<?xml version='1.0'?>",
    "<?import namespace='x'>",
    "&lt;?import namespace&gt;",
    "&lt;/a&gt;",
    "</a>",
    "</em>",
    "x &#x26; y",
    "Q&A",
    "A&amp;B &amp; C",
    "&",
    "&&",
    "&;",
    "&#;",
    "&#x;",
    "&AMP;",
    "&Amp;",
    "&QUOT;",
    "\ufffd",
    "\ufeffbom",
    "\u0301combining",
    "ǅ titlecase",
    "ﬁ ligature",
    "İstanbul",
    "Straße",
    "\u2066iso\u2069",
    "end with space ",
    "https://example.com/only-url",
    "<a href='/rel'>link</a>",
    "<img src=x onerror=alert(1)>",
    "&#x202E;evil",
    "\U0001d54f math",
    "\U000e0041tag",
    "🏳️‍🌈",
    "x\u0000y",
    "\u00ad",
    "-",
    "CafÃ©",
    "Ã©tÃ©",
    "â€™ mojibake",
    "Ã¼ber",
    "see https://e.com/?id=1&lang=en",
    "x&image=2",
    "&mdash missing",
    "&rsquo",
    "More&hellip",
    "5&10",
    "&T2",
    "&_x",
    "B&Q",
    "&١",
    "café",
    "cafe\u0301",
    "&#x26;",
    "&#38;",
    "&amp;#x26;",
    "&sup2",
    "&frac12",
    "--",
    "-->",
    "<!--",
    "&#45;&#45;>",
    "*bold*",
    "# heading",
    "[link](/x)",
    "`code`",
]
DATES = [
    "2024-03-01T12:00:00Z",
    "2024-03-01T12:00:00+05:30",
    "2024-03-01T12:00:00-07:00",
    "2024-03-01T12:00:00+14:00",
    "2024-03-01T12:00:00-12:00",
    "2024-03-01T12:00:00+23:59",
    "2024-03-01T12:00:00.123456789Z",
    "2024-03-01T12:00:00.5Z",
    "2024-03-01 12:00:00Z",
    "2024-03-01t12:00:00z",
    "2024-03-01T23:59:60Z",
    "2023-12-31T23:59:60+01:00",
    "2024-03-01",
    "2024-03-01T12:00Z",
    "2024-03-01T12:00:00",
    "Fri, 01 Mar 2024 12:00:00 GMT",
    "Fri, 01 Mar 2024 12:00:00 +0000",
    "01 Mar 2024 12:00 EST",
    "Mon, 01 Mar 2024 12:00:00 GMT",
    "1990-01-01T00:00:00Z",
    "1989-12-31T23:59:59Z",
    "1990-01-01T00:00:00+01:00",
    "1990-01-01T00:30:00+00:45",
    "2038-01-19T03:14:08Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01",
    "2024-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2024-03-01T24:00:00Z",
    "20240301T120000Z",
    "2024-W09-5",
    "2024-061",
    "1709294400",
    1709294400,
    "2024-03-01T12:00:00+0530",
    "2024-03-01T12:00:00 +05:30",
    "2024-03-01T12:00:00.Z",
    "2024-03-01T12:00:00-00:00",
    "2024-3-1T1:2:3Z",
    "Fri, 1 Mar 2024 12:00:00 CEST",
    "Fri, 01 Mar 24 12:00:00 GMT",
    "Friday, 01-Mar-24 12:00:00 GMT",
    "2024-03-01T12:00:00,5Z",
    "2024-03-01T12:00:00+05",
    "2024-03-01T12:00:00Z ",
    " 2024-03-01T12:00:00Z",
    "2024-03-01T12:00:00ZZ",
    "",
    None,
    "2024-03-01T12:00:00.000000000000000001Z",
    "2024-03-01T12:00:60Z",
    "2024-06-30T23:59:60Z",
    "1990-01-01",
    "1990-01-01T00:00:00-00:01",
    "2024-03-01T12:00:00+24:00",
    "2024-03-01T12:00:00+00:60",
    "Sat, 29 Feb 2020 12:00:00 Z",
    "Sun, 01 Mar 2020 12:00:00 UT",
    "01 Mar 2024 12:00:00 +0000 (UTC)",
    "2024-01-01T00:00:00.999999999999Z",
    "1999-12-31T23:59:59.9999999Z",
]
RAW_DATES = [
    "2024-03-01T12:00:00Z",
    "2024-03-01 12:00:00",
    "2024-03-01",
    "2024-3-1T1:2:3Z",
    "2024-03-01T12:00:00.5+01:00",
    "2023-12-31t23:59:60z",
    "1990-01-01 00:00:00 +01:00",
]
DOMAINS = [
    "example.com",
    "EXAMPLE.COM",
    "example.com.",
    "https://example.com",
    "example.com/path",
    "bücher.example",
    "xn--bcher-kva.example",
    "localhost",
    "1.2.3.4",
    "ex ample.com",
    "",
    "-a.com",
    "a" * 64 + ".com",
    "co.uk",
    "com",
    "example.com:8080",
    "user@example.com",
    "www.example.com",
    ".example.com",
    "例え.テスト",
    "example.com?x",
    "example.com#y",
    "http://example.com/",
    "//example.com",
    "exa_mple.com",
    "[::1]",
    "example..com",
    None,
    5,
    "ｅｘａｍｐｌｅ.com",
    "xn--zz.com",
    "münchen.de",
    "EXAMPLE.com.",
    "a.b",
]
IMG_URLS = [
    "https://img.example.com/a.JPG",
    "https://img.example.com/a.webp",
    "https://img.example.com/a.avif",
    "https://img.example.com/a.svg",
    "https://img.example.com/a.gif?x=1",
    "https://img.example.com/a.png#f",
    "https://img.example.com/noext",
    "https://img.example.com/a.jpeg;jsessionid=1",
    "https://img.example.com/img.php?i=1.png",
    "https://img.example.com/a.tiff",
    "https://img.example.com/a.bmp",
    "https://img.example.com/a.ico",
    "https://img.example.com/a.heic",
    "https://img.example.com/a.mp4",
    "https://img.example.com/a.mp3",
    "https://img.example.com/a.pdf",
    "https://img.example.com/a.",
    "https://img.example.com/.png",
    "https://img.example.com/a.PNG?w=1&h=2",
    "https://img.example.com/a b.jpg",
    "https://img.example.com/ü.jpg",
    "/rel.jpg",
    "rel.jpg",
    "https://img.example.com/a.jpg%20",
    "https://img.example.com/a.jfif",
    "https://img.example.com/a.apng",
    "https://img.example.com/a.svgz",
    "https://img.example.com/a.jp2",
    "https://img.example.com/a.x-icon",
]
DIMS = [
    1200,
    "1200",
    1200.0,
    "1200px",
    -1,
    0,
    1e10,
    2**31,
    2**31 - 1,
    2**63,
    True,
    None,
    "",
    " 12 ",
    "١٢٠٠",
    "１２００",
    12.5,
    "12.0",
    [],
    {},
    "0x10",
    "1_000",
    "+5",
    "05",
    1e400 if False else 99999999999,
]
BODIES = [
    '<p>See <a href="/relative">rel</a> and <a href="relative2">r2</a> <a href="?q=1">q</a> '
    '<a href="#frag">frag</a> <a href="//proto.example.com/x">proto</a></p>',
    '<base href="https://other.example/"><a href="x">x</a>',
    "<ul><li>a<ul><li>b<ol><li>c</li></ol></li></ul></li></ul>",
    '<table><tr><td colspan="2" style="color:red">x</td></tr><tr><th scope="col">h</th></tr></table>',
    "<p>&nbsp; &copy; &bogus; &#0; &#x110000; &#xD800; & alone &amp;amp;</p>",
    "<p><![CDATA[ cdata ]]> and ]]> raw</p>",
    "<!-- comment -- with double dash --><p>after</p>",
    "<!--> --><!----><p>x</p>",
    '<iframe src="https://www.youtube.com/embed/x"></iframe>',
    '<iframe src="//www.youtube.com/embed/y"></iframe>',
    '<iframe src="/embed"></iframe>',
    '<audio src="a.mp3" controls></audio>',
    '<video src="/v.mp4" poster="p.jpg"><source src="x.webm" type="video/webm"><track src="t.vtt"></video>',
    '<img srcset="a.jpg 1x, /b.jpg 2x" src="c.jpg">',
    '<picture><source srcset="/s.webp"><img src="/p.jpg"></picture>',
    '<img src="">',
    '<img src=" https://e.com/a.jpg ">',
    '<img src="https://e.com/a b.jpg">',
    "<img src=x.jpg>",
    "<IMG SRC='x.jpg'>",
    '<a href="mailto:x@example.com">m</a> <a href="tel:+1">t</a> <a href="ftp://e.com/f">f</a>',
    "<a href=https://e.com/unquoted>u</a>",
    '<a  href="/two-spaces">x</a>',
    '<a title="x" href="/rel">x</a>',
    "<math><mi>x</mi></math>",
    "<svg><circle r='1'/></svg>",
    "<blink>b</blink><marquee>m</marquee><font color=red>f</font><center>c</center>",
    "<xmp><b></xmp>",
    "<plaintext>rest",
    "<listing>l</listing>",
    "<noscript>n</noscript>",
    "<template>t</template>",
    "<details><summary>s</summary>d</details>",
    '<object data="x.swf"></object><embed src="/e.swf">',
    '<form action="/f"><input name=a><button>b</button></form>',
    '<p style="color: red; background: url(javascript:x)">s</p>',
    "<custom-element>c</custom-element>",
    "<o:p></o:p><st1:place>p</st1:place><fb:like></fb:like>",
    '<a href="https://e.com/" rel="nofollow" target="_blank">t</a>',
    '<time datetime="2024">t</time><abbr title="x">a</abbr>',
    '<q cite="/rel">q</q><blockquote cite="rel">b</blockquote><del cite="d">d</del><ins cite="i">i</ins>',
    '<img src="https://e.com/i.jpg" longdesc="rel">',
    '<a ping="/p" href="https://e.com">p</a>',
    '<map name="m"><area href="/a" alt="a"></map>',
    "<table><tr><td>x</table>",
    "<p><div>x</div></p>",
    "<h1>1</h1><h6>6</h6><pre><code>&lt;x&gt; < y</code></pre>",
    "<br/><hr/><img/><p/>",
    "[rel](/relative) ![img](rel.png) <https://auto.example.com> <mailto:x@e.com>",
    "ref [a][1]\n\n[1]: /rel",
    "para <b>raw html</b> in markdown\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    "```\n<script>alert(1)</script>\n```",
    "***\n\n> > nested quote",
    "text[^1]\n\n[^1]: note",
    "[link](javascript:alert(1))",
    "[x](<url with spaces>)",
    "[x](https://e.com/a_(b))",
    "~~strike~~",
    "&copy; &#0; &#xD800;",
    "line  \nhard",
    "    indented code",
    "W" * 5000,
    "\r\n",
    "   ",
    "<!-- c -->\n# markdown after comment",
    '<a href="https://e.com/?a=1&b=2">amp</a>',
    '<a href="https://e.com/?a=1&amp;b=2">amp2</a>',
    '<a href="https://e.com/&quot;x">q</a>',
    '<img src="https://e.com/x.jpg" width="100%" height="auto">',
    '<img src="https://e.com/x.jpg" width="-1">',
    '<a href="HTTPS://E.COM">up</a>',
    '<p dir="rtl">r</p><bdo dir="rtl">b</bdo><bdi>i</bdi><span lang="ar">s</span>',
    "<ruby>漢<rt>kan</rt></ruby>",
    "<sup>s</sup><sub>s</sub><small>s</small>a<wbr>b",
    '<img src="data:image/svg+xml,<svg/>">',
    '<a href="https://e.com" data-foo="x" aria-label="y">d</a>',
    "<p>text\u2028sep</p>",
    '<?xml version="1.0"?><p>pi</p>',
    '<?import namespace="t" implementation="#default#time2">',
    "<!DOCTYPE html><html><head><title>x</title></head><body><p>b</p></body></html>",
    '<meta http-equiv="refresh" content="0"><link rel=stylesheet href=x.css><style>p{}</style>',
    '<a href="#">hash</a>',
    '<a href="">empty</a>',
    '<a href=" ">space</a>',
    "<a>no href</a>",
    '<a name="anchor">n</a>',
    '<a href="https://e.com/%zz">bad esc</a>',
    '<a href="https://bücher.example/">idn</a>',
    '<a href="https://e.com/a b">space</a>',
    '<a href="https://[::1]/">v6</a>',
    '<a href="http://localhost/">lh</a>',
    '<img src="https://e.com/a.jpg" alt="&lt;script&gt;">',
    "<p>&lt;/p&gt; escaped</p>",
    "<p>&lt;?import namespace='x'&gt;</p>",
    "<p>&lt;?IMPORT </p>",
    '<div xmlns="http://www.w3.org/1999/xhtml">x</div>',
    '<p lang="en" xml:lang="en">l</p>',
    "<p>\x0b vt</p>",
    "<p>&#x1;</p>",
    "<p>&#128;</p>",
    "<p>" + "<b>" * 300 + "deep</p>",
    "<p>a</p>" * 200,
    "<p>\ufffe</p>",
    "<p>\U0001f600</p>",
    '<a href="https://e.com/\u202e">bidi</a>',
    "<dl><dt>t</dt><dd>d</dd></dl>",
    '<ol start="3" reversed type="a"><li value="7">x</li></ol>',
    '<col span="2"><colgroup></colgroup>',
    "<td>orphan</td>",
    "<caption>c</caption>",
    '<figure><img src="/f.jpg"><figcaption>c</figcaption></figure>',
    '<a href="https://e.com/x.pdf" download>d</a>',
    '<a href="https://e.com" hreflang="zz">h</a>',
    '<a href="//e.com">pr</a>',
    '<img src="//e.com/i.jpg">',
    "<a href='rel'>single</a>",
    "<a href=rel>bare</a>",
    '<A HREF="/upper">U</A>',
    '<a\nhref="/newline">n</a>',
    '<a href\n="/nl2">n</a>',
    '<img\nsrc="/nl.jpg">',
    '<img alt="x" src="/after-alt.jpg">',
    '<img src="https://e.com/i.jpg"/>',
]
FEATURED = [
    '<iframe src="https://player.vimeo.com/video/1?h=a&amp;b=c"></iframe>',
    '<iframe data-src="https://x.com/e"></iframe>',
    '<video controls src="https://v.example.com/v.mp4"></video>',
    '<blockquote class="twitter-tweet"><a href="https://twitter.com/x/status/1">t</a></blockquote><script src="https://platform.twitter.com/widgets.js"></script>',
    '<iframe src="https://e.com/embed?a=1&b=2" width="560" height="315" allowfullscreen></iframe>',
    '<iframe src="https://bücher.example/embed"></iframe>',
    '<iframe src="/rel-embed"></iframe>',
    '<iframe src="https://e.com/a b"></iframe>',
    '<iframe srcdoc="<script>x</script>"></iframe>',
    '<IFRAME SRC="HTTPS://E.COM/UP"></IFRAME>',
    "<iframe src='https://e.com/q?x=\"y\"'></iframe>",
    '<embed src="https://e.com/e.swf">',
    '<object data="https://e.com/o"></object>',
]
TOPICS = [
    "AI",
    "ai",
    " AI ",
    "A/B testing",
    "../x",
    "CON",
    "all",
    "index",
    "feeds",
    "topics",
    "",
    "C++",
    "C#",
    ".NET",
    "Économie",
    "日本",
    "🚀",
    "t" * 300,
    "<b>AI</b>",
    "&amp;",
    "Ünïcode",
    "null",
    123,
    True,
    "#hashtag",
    "tag,with,commas",
    "tag;semi",
    "  ",
    "\u200b",
    "US-TX",
    "İstanbul",
    "ß",
    "SS",
    "Straße",
    "STRASSE",
    "ﬁ",
    "K",
    "\u212a",
    "Σ",
    "ς",
    "ǅ",
    "مرحبا",
    "a--b",
    "-",
    "--x--",
    "1.0",
    "x" * 70,
    "Ω",
    "\u2126",
    "e\u0301",
    "é",
    "AI ",
    "aI",
    "Power Apps",
    "power-apps",
    "power_apps",
    "Q&A",
    "R&D",
    "&lt;tag&gt;",
    "]]>",
    "a\nb",
    "a\tb",
    "COM1",
    "nul",
    "aux.txt",
    ".",
    "..",
    "~",
    "%2e%2e",
    "a%20b",
    "?",
    "#",
    "0",
    0,
    1.5,
    "—",
    "…",
]
TYPES = ["article", "video", "slideshow", "", None, "<b>x</b>", 5]


def choice(rng: random.Random, seq: list):  # type: ignore[type-arg]
    return seq[rng.randrange(len(seq))]


def weird_text(rng: random.Random) -> str:
    parts = [choice(rng, TEXTS) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        parts.insert(rng.randint(0, len(parts)), "Headline")
    return " ".join(p if isinstance(p, str) else str(p) for p in parts)


def record(rng: random.Random, n: int, topics_only: bool = False) -> dict:  # type: ignore[type-arg]
    rec: dict = {  # type: ignore[type-arg]
        "title": f"Normal title {n}",
        "excerpt": f"Normal excerpt {n}.",
        "webUrl": NORMAL_URL.format(n=n),
        "originalUrl": NORMAL_URL.format(n=n),
        "publishedDateTime": f"2024-0{rng.randint(1, 3)}-{rng.randint(10, 28)}T{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:{rng.randint(0, 59):02}Z",
        "type": "article",
        "published": True,
        "provider": {"name": "Provider", "domain": "provider.example.com"},
        "topics": ["Fuzz"],
    }
    if topics_only:
        rec["topics"] = [choice(rng, TOPICS) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:
            rec["tags"] = [choice(rng, TOPICS) for _ in range(rng.randint(1, 3))]
        return rec
    k = rng.randint(2, 6)
    fields = rng.sample(
        [
            "title",
            "excerpt",
            "webUrl",
            "originalUrl",
            "date",
            "updated",
            "provider",
            "topics",
            "tags",
            "images",
            "body",
            "content",
            "featured",
            "related",
            "type",
            "amp",
            "locale",
            "category",
        ],
        k,
    )
    for f in fields:
        if f == "title":
            rec["title"] = (
                weird_text(rng) if rng.random() < 0.9 else choice(rng, [None, 5, 1.5, "", "   "])
            )
        elif f == "excerpt":
            rec["excerpt"] = weird_text(rng) if rng.random() < 0.9 else choice(rng, [None, "", 7])
        elif f == "webUrl":
            rec["webUrl"] = choice(rng, URLS)
        elif f == "originalUrl":
            rec["originalUrl"] = choice(rng, URLS)
            if rng.random() < 0.5:
                rec.pop("webUrl")
        elif f == "date":
            rec["publishedDateTime"] = choice(rng, DATES)
        elif f == "updated":
            rec["updatedDateTime"] = choice(
                rng, [*DATES, "2020-01-01T00:00:00Z", rec["publishedDateTime"]]
            )
        elif f == "provider":
            prov: dict = {}  # type: ignore[type-arg]
            if rng.random() < 0.8:
                prov["name"] = (
                    weird_text(rng) if rng.random() < 0.8 else choice(rng, ["", None, 5, " "])
                )
            if rng.random() < 0.8:
                prov["domain"] = choice(rng, DOMAINS)
            if rng.random() < 0.2:
                prov["images"] = [{"url": choice(rng, IMG_URLS)}]
            if rng.random() < 0.2:
                prov["authors"] = [weird_text(rng)]
            rec["provider"] = (
                prov if rng.random() < 0.95 else choice(rng, ["Provider string", None, []])
            )
        elif f in ("topics", "tags"):
            rec[f] = [choice(rng, TOPICS) for _ in range(rng.randint(0, 5))]
        elif f == "images":
            imgs = []
            for _ in range(rng.randint(1, 4)):
                img: dict = {"url": choice(rng, IMG_URLS + URLS[:40])}  # type: ignore[type-arg]
                if rng.random() < 0.7:
                    img["width"] = choice(rng, DIMS)
                if rng.random() < 0.7:
                    img["height"] = choice(rng, DIMS)
                if rng.random() < 0.4:
                    img["title"] = weird_text(rng)
                if rng.random() < 0.4:
                    img["attribution"] = weird_text(rng)
                if rng.random() < 0.2:
                    img["isCached"] = choice(rng, [True, "yes", None])
                imgs.append(img)
            if rng.random() < 0.2:
                imgs.append(dict(imgs[0]))  # duplicate image
            rec["images"] = imgs
        elif f in ("body", "content"):
            text = "\n".join(choice(rng, BODIES) for _ in range(rng.randint(1, 3)))
            if f == "body":
                rec["__body"] = text
            else:
                rec["content"] = text
        elif f == "featured":
            rec["featuredContent"] = choice(rng, FEATURED)
        elif f == "related":
            rel = []
            for _ in range(rng.randint(1, 4)):
                r: dict = {  # type: ignore[type-arg]
                    "title": weird_text(rng) if rng.random() < 0.6 else "Related",
                    "webUrl": choice(rng, URLS)
                    if rng.random() < 0.6
                    else rec.get("webUrl", "https://r.example.com/"),
                    "publishedDateTime": choice(rng, DATES),
                    "type": choice(rng, TYPES),
                    "provider": {"name": weird_text(rng), "domain": choice(rng, DOMAINS)},
                }
                if rng.random() < 0.3:
                    r["excerpt"] = weird_text(rng)
                rel.append(r)
            if rng.random() < 0.3:
                rel.append(dict(rel[0]))
            rec["related"] = rel
        elif f == "type":
            rec["type"] = choice(rng, TYPES)
        elif f == "amp":
            rec["ampWebUrl"] = choice(rng, URLS)
        elif f == "locale":
            rec["locale"] = choice(rng, ["ar-sa", "he", "", "xx-YY-zz", "en_US", None])
        elif f == "category":
            rec["category"] = choice(rng, TYPES)
    return rec


def front_matter(rec: dict, rng: random.Random) -> str:  # type: ignore[type-arg]
    body = rec.pop("__body", "")
    raw_date = None
    if rng.random() < 0.1:
        raw_date = choice(rng, RAW_DATES)
        rec.pop("publishedDateTime", None)
    text = yaml.safe_dump(rec, allow_unicode=True, sort_keys=False, width=10**6)
    if raw_date is not None:
        text += f"publishedDateTime: {raw_date}\n"
    return f"---\n{text}---\n{body}"


def main() -> None:
    positional = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    if len(positional) != 3 or not (positional[1].isdigit() and positional[2].isdigit()):
        sys.exit(__doc__.split("\n\n")[1].split("\n")[0])  # the usage line
    out = Path(positional[0])
    n = int(positional[1])
    seed = int(positional[2])
    topics_only = "--topics-only" in sys.argv
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    dump: list = []  # type: ignore[type-arg]
    lines: list = []  # type: ignore[type-arg]
    for i in range(n):
        rec = record(rng, seed * 100000 + i, topics_only)
        r = rng.random()
        if r < 0.8:
            (out / f"{i:06d}_{seed:04x}.md").write_text(front_matter(rec, rng), encoding="utf-8")
        else:
            body = rec.pop("__body", None)
            if body:
                rec["content"] = body
            (dump if r < 0.9 else lines).append(rec)
    if dump:
        (out / f"dump_{seed}.json").write_text(
            json.dumps({"news": dump}, ensure_ascii=rng.random() < 0.5), encoding="utf-8"
        )
    if lines:
        (out / f"lines_{seed}.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
