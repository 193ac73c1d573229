"""Crawl throughput benchmark (issue 3): archiver against Scrapy on a local nginx site.

Generates a deterministic site of Korean WordPress-like article pages (an index page
listing them all, and robots.txt), serves it with nginx on 127.0.0.1, and measures in
one run:

1. fetch+WARC: archiver's ``Fetcher`` and ``WarcWriter`` alone;
2. full pipeline: ``archiver.crawler.pipeline.crawl`` (fetch, WARC, catalog, extract, index);
3. Scrapy fetch-only: a minimal CrawlSpider from the index page (in a subprocess, so
   its reactor stays out of this process);
3b. the equal-work peer of step 2: the same spider extracting each article with
   trafilatura and indexing it with Whoosh's default analyzer (index written at the end);
4. an unchanged re-crawl of the store from step 2: bytes nginx sent relative to the
   first crawl (its access log's ``$bytes_sent``) and bytes the store grew per page.

Politeness delays are off and per-host concurrency is 16. Usage (from the repo root)::

    .venv/bin/python benchmarks/crawl.py [--pages 2000] [--runs 1] [--keep] [--no-gzip]

The last line is
``pages=N fetch_pages_per_s=X full_pages_per_s=Y scrapy_pages_per_s=Z
peer_full_pages_per_s=P recrawl_transfer_ratio=R recrawl_bytes_per_page=B`` (medians over
``--runs``). Targets: X ≥ Z (equal work: fetch and store) and Y ≥ 2 × P (equal work:
fetch, extract, index). Needs nginx (``apt-get install -y nginx``), Scrapy and
trafilatura (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path
from typing import Any

SEED = 20231118  # the site is a function of (pages, SEED) only
FIRST_ID = 100001
KST = timezone(timedelta(hours=9))
SITE_MTIME = datetime(2023, 11, 20, 9, 0, tzinfo=KST).timestamp()  # fixed ETag/Last-Modified
HOST = "127.0.0.1"

# --- the site ---------------------------------------------------------------------------
# Korean vocabulary written for this benchmark; sentences are assembled from it with the
# right particles so the extractor and the bigram analyser see ordinary Korean text.

TOPICS = [
    "반도체",
    "인공지능",
    "전기차",
    "부동산",
    "기준금리",
    "기후 위기",
    "공교육",
    "지역 의료",
    "총선",
    "문화재 보존",
    "청년 고용",
    "저출생",
    "원자력 발전",
    "플랫폼 노동",
    "우주 산업",
    "물가",
    "수출",
    "가계 부채",
    "대중교통",
    "개인정보 보호",
    "농산물 가격",
    "해운 물류",
    "게임 산업",
    "웹툰",
    "스타트업 투자",
    "탄소 배출권",
    "배터리 재활용",
    "공공 데이터",
]
NOUNS = [
    "정책",
    "시장",
    "규제",
    "예산",
    "논란",
    "전망",
    "대책",
    "협상",
    "보고서",
    "계획",
    "조사",
    "개편안",
    "지원책",
    "실험",
    "갈등",
    "소송",
    "합의",
    "투자",
    "구조조정",
    "감사",
]
SUBJECTS = [
    "정부",
    "업계 관계자",
    "전문가들",
    "시민단체",
    "한 연구원",
    "회사 측",
    "국회",
    "지방자치단체",
    "소비자들",
    "투자자들",
    "노동조합",
    "학계",
    "야당",
    "여당",
    "금융당국",
    "현장 교사들",
    "주민들",
    "해외 언론",
    "중소기업 대표들",
    "규제 당국",
]
ADVERBS = [
    "조심스럽게",
    "분명하게",
    "거듭",
    "뒤늦게",
    "이례적으로",
    "공개적으로",
    "사실상",
    "한목소리로",
    "여러 차례",
    "짧게",
]
CLAIMS = [
    "속도보다 방향이 중요하다",
    "현장의 목소리가 충분히 반영되지 않았다",
    "내년 상반기까지 결론을 내야 한다",
    "숫자만으로는 실상을 알기 어렵다",
    "비용을 누가 부담할지부터 정해야 한다",
    "지금의 구조로는 오래 버티기 힘들다",
    "해외 사례를 그대로 들여오기는 어렵다",
    "작은 변화가 쌓이면 흐름이 바뀔 수 있다",
    "투명한 공개가 신뢰 회복의 출발점이다",
    "단기 처방으로는 한계가 분명하다",
]
VERBS = ["밝혔다", "강조했다", "지적했다", "설명했다", "덧붙였다", "주장했다", "내다봤다", "전했다"]
PLACES = [
    "서울",
    "부산",
    "대구",
    "인천",
    "광주",
    "대전",
    "울산",
    "세종",
    "수원",
    "전주",
    "제주",
    "창원",
    "청주",
    "춘천",
    "포항",
]
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = [
    "서윤",
    "우진",
    "민수",
    "하늘",
    "지호",
    "서연",
    "도윤",
    "예린",
    "현우",
    "수아",
    "지훈",
    "은서",
    "태민",
    "가은",
    "준영",
    "소희",
    "다인",
    "재원",
    "유나",
    "시우",
]
CATEGORIES = [
    ("tech", "테크"),
    ("politics", "정치"),
    ("economy", "경제"),
    ("culture", "문화"),
    ("society", "사회"),
]


def josa(word: str, with_final: str, without_final: str) -> str:
    """Attach the particle form that fits the last syllable (은/는, 이/가, 을/를, 과/와)."""
    last = word[-1]
    final = "\uac00" <= last <= "\ud7a3" and (ord(last) - 0xAC00) % 28 != 0
    return word + (with_final if final else without_final)


def sentence(rng: random.Random, topic: str) -> str:
    noun = rng.choice(NOUNS)
    subject = rng.choice(SUBJECTS)
    place = rng.choice(PLACES)
    number = rng.randint(2, 98)
    templates = [
        lambda: (
            f"{josa(subject, '은', '는')} {topic} {noun}에 대해 "
            f"“{rng.choice(CLAIMS)}”고 {rng.choice(ADVERBS)} {rng.choice(VERBS)}."
        ),
        lambda: (
            f"{place}에서 열린 간담회에서 {josa(subject, '은', '는')} {topic} "
            f"{josa(noun, '을', '를')} 두고 {rng.choice(CLAIMS)}는 의견을 냈다."
        ),
        lambda: (
            f"지난해 {topic} 관련 {josa(noun, '은', '는')} 전년보다 {number}% 늘었고, "
            f"올해도 비슷한 흐름이 이어질 것으로 보인다."
        ),
        lambda: (
            f"{josa(topic, '을', '를')} 둘러싼 {josa(noun, '이', '가')} 길어지면서 "
            f"{josa(subject, '의', '의')} 부담도 커지고 있다."
        ),
        lambda: f"취재진이 만난 {place}의 한 관계자는 “{rng.choice(CLAIMS)}”며 말을 아꼈다.",
        lambda: (
            f"{josa(subject, '이', '가')} 내놓은 {josa(noun, '은', '는')} "
            f"{number}개 항목으로 이뤄져 있으며, 그중 절반가량이 "
            f"{josa(topic, '과', '와')} 직접 맞닿아 있다."
        ),
        lambda: f"다만 {topic} {noun}의 효과를 판단하기에는 아직 이르다는 평가가 많다.",
        lambda: (
            f"{josa(subject, '은', '는')} 다음 달 {place}에서 {topic} {josa(noun, '을', '를')} "
            f"다시 논의할 예정이라고 {rng.choice(VERBS)}."
        ),
    ]
    return rng.choice(templates)()


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


@dataclass(frozen=True)
class Article:
    id: int
    title: str
    author: str
    category: tuple[str, str]
    published: datetime


def plan_articles(pages: int, rng: random.Random) -> list[Article]:
    base = datetime(2023, 11, 18, 9, 0, tzinfo=KST)
    articles = []
    for i in range(pages):
        topic = rng.choice(TOPICS)
        title = f"{topic} {rng.choice(NOUNS)}, {rng.choice(CLAIMS)}"
        articles.append(
            Article(
                FIRST_ID + i,
                title,
                person(rng),
                rng.choice(CATEGORIES),
                base - timedelta(minutes=37 * i),
            )
        )
    return articles


CSS = "".join(
    f".kb-row-layout-id{n}>.kt-row-column-wrap{{padding-top:{n % 40}px;"
    f"grid-template-columns:minmax(0,{n % 3 + 1}fr);column-gap:{n % 5}rem}}\n"
    for n in range(60)
)
THEME = "/wp-content/themes/kadence/assets"
MENU = "".join(
    f'<li class="menu-item menu-item-type-taxonomy"><a href="/category/{slug}">{name}</a></li>\n'
    for slug, name in CATEGORIES
)


def _head(art: Article, modified: str) -> str:
    """<head>, site header and article header, as a Kadence/Rank Math page has them."""
    url, iso, title = f"/{art.id}", art.published.isoformat(), escape(art.title)
    slug, label = art.category
    author_url = f"/author/{art.id % 97}"
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@graph": [
                {
                    "@type": "WebPage",
                    "@id": url + "#webpage",
                    "url": url,
                    "name": art.title,
                    "datePublished": iso,
                    "dateModified": modified,
                    "inLanguage": "ko-KR",
                },
                {"@type": "Person", "@id": author_url, "name": art.author},
                {
                    "@type": "NewsArticle",
                    "headline": art.title,
                    "datePublished": iso,
                    "dateModified": modified,
                    "articleSection": label,
                    "author": {"name": art.author},
                    "inLanguage": "ko-KR",
                },
            ],
        },
        ensure_ascii=False,
    )
    day = f"{art.published:%Y년 %m월 %d일}"
    return f"""<!doctype html>
<html lang="ko-KR" class="no-js" itemtype="https://schema.org/Blog" itemscope>
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1, minimum-scale=1">
<title>{title} - 느린신문</title>
<meta property="og:locale" content="ko_KR"><meta property="og:type" content="article">
<meta property="og:title" content="{title} - 느린신문">
<meta property="og:site_name" content="느린신문"><meta property="og:url" content="{url}">
<meta property="article:section" content="{label}">
<meta property="article:published_time" content="{iso}">
<meta property="article:modified_time" content="{modified}">
<meta name="twitter:label1" content="작성자"><meta name="twitter:data1" content="{art.author}">
<script type="application/ld+json" class="rank-math-schema">{ld}</script>
<link rel="stylesheet" id="kadence-global-css" media="all"
 href="{THEME}/css/global.min.css?ver=1.1.49">
<style id="kadence-blocks-inline-css">{CSS}</style>
<script id="kadence-navigation-js-extra">var kadenceConfig = {{"screenReader":
{{"expand":"하위 메뉴 펼치기","collapse":"하위 메뉴 접기"}}}};</script>
</head>
<body class="post-template-default single single-post postid-{art.id} single-format-standard">
<div id="wrapper" class="site wp-site-blocks">
<a class="skip-link screen-reader-text" href="#main">본문 바로가기</a>
<header id="masthead" class="site-header" role="banner"><div class="site-branding">
<a class="brand" href="/" rel="home">느린신문</a>
<p class="site-description">천천히, 깊게 읽는 뉴스</p></div>
<nav id="site-navigation" class="main-navigation" aria-label="Primary Navigation">
<ul id="primary-menu" class="menu">
{MENU}<li class="menu-item"><a href="/subscribe">구독하기</a></li></ul></nav></header>
<div id="inner-wrap" class="wrap hfeed kt-clear"><div id="primary" class="content-area">
<main id="main" class="site-main" role="main"><div class="content-wrap">
<article id="post-{art.id}" class="entry content-bg single-entry post-{art.id} post
 type-post status-publish category-{slug}">
<div class="entry-content-wrap"><header class="entry-header post-title">
<div class="entry-taxonomies"><span class="category-links">
<a href="/category/{slug}" rel="tag">{label}</a></span></div>
<h1 class="entry-title">{title}</h1>
<div class="entry-meta entry-meta-divider-dot"><span class="posted-by">
<span class="meta-label">글쓴이</span><span class="author vcard">
<a class="url fn n" href="{author_url}" rel="author">{art.author}</a></span></span>
<span class="posted-on"><time class="entry-date published" datetime="{iso}">{day}</time>
<time class="updated" datetime="{modified}">{day}</time></span></div></header>
<div class="entry-content single-content">
<div class="share-bar sns-share-top" aria-label="이 글 공유하기">
<span class="share-label">이 글 공유하기</span><ul class="share-buttons">
<li><a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={url}"
 >페이스북 공유</a></li>
<li><a class="share-twitter" href="https://twitter.com/intent/tweet?url={url}">트위터 공유</a>
</li></ul></div>
<div id="pavo_contents">
"""


def _tail(art: Article, related: list[Article], comments: list[str]) -> str:
    """Tags, related posts, comments and the site footer."""
    slug, label = art.category
    links = "".join(
        f'<li class="splide__slide"><article class="entry loop-entry"><h3 class="entry-title">'
        f'<a href="/{r.id}" rel="bookmark">{escape(r.title)}</a></h3></article></li>\n'
        for r in related
    )
    return f"""</div></div>
<footer class="entry-footer"><div class="entry-tags">
<a href="/category/{slug}" class="tag-link" rel="tag">#{label}</a></div></footer>
</div></article>
<div class="entry-related alignfull"><h2 class="entry-related-title">함께 읽으면 좋은 글</h2>
<ul class="splide__list">
{links}</ul></div>
<div id="comments" class="comments-area">
<h2 class="comments-title">댓글 {len(comments)}개</h2>
<ol class="comment-list">{"".join(comments)}</ol>
<div id="respond" class="comment-respond"><h3 class="comment-reply-title">댓글 남기기</h3>
<p class="comment-notes">이메일 주소는 공개되지 않습니다.</p></div></div>
</div></main></div></div>
<footer id="colophon" class="site-footer"><nav class="footer-navigation"><ul class="menu">
<li><a href="/about">회사소개</a></li><li><a href="/privacy">개인정보처리방침</a></li>
<li><a href="/terms">이용약관</a></li></ul></nav>
<div class="footer-html"><p>© 2023 느린신문. 모든 권리 보유.</p></div></footer></div>
<script id="kadence-navigation-js" src="{THEME}/js/navigation.min.js?ver=1.1.49" async>
</script>
</body>
</html>
"""


NEWSLETTER = (
    '<div class="wp-block-group newsletter-box"><p class="newsletter-title">'
    "<strong>느린신문 뉴스레터를 구독하세요</strong></p>"
    "<p>매주 금요일 아침, 느린 뉴스를 편지함으로 보내 드립니다.</p></div>\n"
)


def render_article(
    art: Article, articles: list[Article], rng: random.Random, target_bytes: int
) -> bytes:
    """One article page of about ``target_bytes`` bytes (the body grows to reach it)."""
    modified = (art.published + timedelta(minutes=rng.randint(5, 300))).isoformat()
    topic = art.title.split(",")[0].rsplit(" ", 1)[0]
    related = rng.sample(articles, 4)
    comments = [
        f'<li id="comment-{art.id}{n}" class="comment depth-1"><article class="comment-body">'
        f'<footer class="comment-meta"><b class="fn">{person(rng)}</b></footer>'
        f'<div class="comment-content"><p>{sentence(rng, topic)}</p></div></article></li>\n'
        for n in range(rng.randint(0, 6))
    ]
    head, tail = _head(art, modified), _tail(art, related, comments)
    body: list[str] = []
    size = len(head.encode()) + len(tail.encode())
    while size < target_bytes:
        roll = rng.random()
        if roll < 0.08:
            block = f'<h2 class="wp-block-heading">{escape(sentence(rng, topic)[:24])}</h2>\n'
        elif roll < 0.12:
            block = NEWSLETTER
        else:
            text = " ".join(sentence(rng, topic) for _ in range(rng.randint(2, 5)))
            block = f"<p>{escape(text, quote=False)}</p>\n"
        body.append(block)
        size += len(block.encode())
    return (head + "".join(body) + tail).encode("utf-8")


def render_index(articles: list[Article]) -> bytes:
    items = "\n".join(
        f'<li><a href="/{a.id}">{escape(a.title)}</a> <time datetime="{a.published.isoformat()}">'
        f"{a.published:%m월 %d일}</time></li>"
        for a in articles
    )
    return (
        f'<!doctype html>\n<html lang="ko-KR"><head><meta charset="UTF-8">'
        f"<title>느린신문 - 전체 기사</title></head><body><h1>전체 기사</h1>\n"
        f'<ul class="post-list">\n{items}\n</ul></body></html>\n'
    ).encode()


def generate_site(root: Path, pages: int) -> tuple[list[str], int, str]:
    """Write the site under ``root``; return (article paths, total bytes, sha256 of all)."""
    rng = random.Random(SEED)
    articles = plan_articles(pages, rng)
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    total = 0
    files: list[tuple[str, bytes]] = [
        ("robots.txt", b"User-agent: *\nDisallow: /private/\n"),
        ("index.html", render_index(articles)),
    ]
    for art in articles:
        files.append(
            (f"{art.id}.html", render_article(art, articles, rng, rng.randint(30_000, 50_000)))
        )
    for name, data in files:
        path = root / name
        path.write_bytes(data)
        os.utime(path, (SITE_MTIME, SITE_MTIME))
        digest.update(name.encode() + b"\0" + data)
        total += len(data)
    return [f"/{a.id}" for a in articles], total, digest.hexdigest()


# --- nginx ------------------------------------------------------------------------------

LOG_FORMAT = '$bytes_sent $request_length $status "$http_user_agent"'
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format bench '{log_format}';
    access_log {tmp}/access.log bench;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    types {{ text/html html; text/plain txt; }}
    default_type application/octet-stream;
    charset utf-8;
    sendfile on;
    keepalive_requests 100000;
    gzip {gzip};  # as Debian's stock nginx.conf: text/html compressed at level 1
    server {{
        {listen}
        root {site};
        index index.html;
        location / {{ try_files $uri $uri.html $uri/ =404; }}
    }}
}}
"""


def find_nginx() -> str:
    path = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if path is None:
        sys.exit("crawl.py: nginx not found; install it first: apt-get install -y nginx")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Nginx:
    """Our own nginx in the foreground (daemon off), on a free port, stopped at the end."""

    def __init__(
        self,
        tmp: Path,
        site: Path,
        *,
        gzip: bool,
        hosts: tuple[str, ...] = (HOST,),  # more loopback addresses: more hosts, one port
        log_format: str = LOG_FORMAT,
    ) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.log = tmp / "access.log"
        conf = tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                tmp=tmp,
                site=site,
                listen=" ".join(f"listen {host}:{self.port};" for host in hosts),
                log_format=log_format,
                gzip="on" if gzip else "off",
            )
        )
        stderr = tmp / "nginx.stderr"  # a file, not a pipe nobody drains while we crawl
        with open(stderr, "wb") as err_file:
            self.proc = subprocess.Popen(
                [find_nginx(), "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")],
                stdout=subprocess.DEVNULL,
                stderr=err_file,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = stderr.read_text(errors="replace").strip()
                sys.exit(f"crawl.py: nginx failed to start: {err}")
            # nginx writes its pid file only once it holds the port (it retries a busy
            # port for a few seconds, then exits): a connect alone could reach someone else.
            if (tmp / "nginx.pid").exists():
                try:
                    socket.create_connection((HOST, self.port), timeout=0.2).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        sys.exit("crawl.py: nginx did not start listening within 10 s")

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def bytes_by_agent(self) -> dict[str, tuple[int, int, Counter[str]]]:
        """(bytes sent, request bytes, statuses) per User-Agent, from the access log."""
        time.sleep(0.2)  # nginx logs a request just after its last byte went out
        out: dict[str, tuple[int, int, Counter[str]]] = {}
        for line in self.log.read_text(errors="replace").splitlines():
            sent, received, status, agent = line.split(" ", 3)
            old = out.get(agent.strip('"'), (0, 0, Counter()))
            old[2][status] += 1
            out[agent.strip('"')] = (old[0] + int(sent), old[1] + int(received), old[2])
        return out


# --- the crawlers -----------------------------------------------------------------------


def write_config(path: Path, store: Path, urls: list[str], agent: str) -> Path:
    lines = ["[store]", f'path = "{store}"', ""]
    for url in urls:
        lines += ["[[targets]]", f'url = "{url}"', ""]
    lines += [
        "[crawl]",
        f'user_agent = "{agent}"',
        "per_host_delay = 0",
        "per_host_concurrency = 16",
        "concurrency = 16",
        "allow_private_networks = true",
        "respect_robots = true",
        "retries = 2",
        "timeout = 30",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_fetch_warc(config_path: Path, warc_dir: Path) -> tuple[float, int]:
    """archiver's Fetcher + WarcWriter alone; return (seconds, pages with a 200)."""
    from archiver.config import load_config
    from archiver.net.exchange import FetchResult
    from archiver.net.fetch import Fetcher
    from archiver.storage.warc import WarcWriter

    config = load_config(config_path)

    async def main() -> int:
        fetcher = Fetcher(config.crawl)
        ok = 0
        try:
            with WarcWriter(warc_dir) as writer:
                finished: asyncio.Queue[asyncio.Task[FetchResult]] = asyncio.Queue()
                for url in config.targets:
                    task = asyncio.ensure_future(fetcher.fetch(url))
                    task.add_done_callback(finished.put_nowait)
                remaining = len(config.targets)
                while remaining:
                    # As the pipeline records: the fetches that finished together share
                    # one fsync (WarcWriter.group), in a thread so fetching goes on; it
                    # comes before anything could point at their records.
                    group = [await finished.get()]
                    while not finished.empty():
                        group.append(finished.get_nowait())
                    remaining -= len(group)
                    with writer.group():
                        for task in group:
                            result = task.result()
                            for exchange in result.exchanges:
                                writer.write_exchange(exchange)
                            ok += bool(result.response and result.response.status == 200)
                    await asyncio.to_thread(writer.sync)
        finally:
            await fetcher.aclose()
        return ok

    start = time.perf_counter()
    ok = asyncio.run(main())
    return time.perf_counter() - start, ok


def run_pipeline(config_path: Path) -> tuple[float, dict[str, int]]:
    """One ``archiver.crawler.pipeline.crawl``; return (seconds, target state counts)."""
    from archiver.config import load_config
    from archiver.crawler import pipeline
    from archiver.storage.store import Store

    config = load_config(config_path)
    start = time.perf_counter()
    with Store(config.store) as store:
        summary = pipeline.crawl(config, store)
    elapsed = time.perf_counter() - start
    return elapsed, dict(Counter(o.state for o in summary.outcomes))


def store_sizes(root: Path) -> Counter[str]:
    """Bytes per part of a store: catalog (with its WAL), warc/, index/, reports/, …"""
    sizes: Counter[str] = Counter()
    for path in root.rglob("*"):
        if path.is_file() and path.name != "lock":
            part = path.relative_to(root).parts[0]
            sizes["catalog" if part.startswith("catalog.sqlite3") else part] += path.stat().st_size
    return sizes


def run_scrapy(index_url: str, agent: str, mode: str = "fetch") -> tuple[float, float, int]:
    """Scrapy in a subprocess (its Twisted reactor stays out of this process)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--scrapy-child", index_url, agent, mode],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        sys.exit(f"crawl.py: the Scrapy crawl failed:\n{proc.stderr.strip()[-2000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(data["seconds"]), float(data["wall"]), int(data["pages"])


def scrapy_child(index_url: str, agent: str, mode: str) -> None:
    """A CrawlSpider from the index page to every article.

    ``fetch``: nothing parsed beyond links. ``full``: the equal-work peer of archiver's
    pipeline, the stack a Python user would assemble: each article extracted with
    ``trafilatura.extract`` (title and text) and added to a Whoosh index with the default
    analyzer, written once at the end (timed too).
    """
    try:
        from scrapy import signals
        from scrapy.crawler import CrawlerProcess
        from scrapy.linkextractors import LinkExtractor
        from scrapy.spiders import CrawlSpider, Rule
    except ImportError:
        sys.exit("crawl.py: Scrapy is not installed: .venv/bin/pip install -e '.[bench]'")
    if mode == "full":
        try:
            import trafilatura
        except ImportError:
            sys.exit("crawl.py: trafilatura is not installed: .venv/bin/pip install -e '.[bench]'")
    state = {"pages": 0, "opened": 0.0, "last": 0.0, "closed": 0.0, "index": 0.0}
    docs: list[tuple[str, str, str]] = []

    class Bench(CrawlSpider):  # type: ignore[misc,unused-ignore]  # untyped without the bench extra
        name = "bench"
        # allowed_domains takes a bare host; LinkExtractor(allow_domains=…) would compare
        # "127.0.0.1:PORT" and drop every link.
        allowed_domains = [HOST]
        start_urls = [index_url]
        rules = (Rule(LinkExtractor(allow=r"/\d+$"), callback="parse_article"),)

        def parse_article(self, response: Any) -> list[object]:
            if response.status == 200:
                if mode == "full":
                    out = trafilatura.extract(
                        response.text, url=response.url, output_format="json", with_metadata=True
                    )
                    if out is not None:
                        doc = json.loads(out)
                        docs.append((response.url, doc.get("title") or "", doc.get("text") or ""))
                state["pages"] += 1
                state["last"] = time.perf_counter()
            return []

    def opened(spider: object) -> None:
        state["opened"] = time.perf_counter()

    def closed(spider: object, reason: str) -> None:
        state["closed"] = time.perf_counter()

    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": 16,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "ROBOTSTXT_OBEY": True,
            "USER_AGENT": agent,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "COOKIES_ENABLED": False,
        }
    )
    crawler = process.create_crawler(Bench)
    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler)
    process.start()
    if mode == "full":
        state["index"] = whoosh_index(docs)
    # Timed from spider open to the last article received (its shutdown is not counted),
    # plus writing the index.
    print(
        json.dumps(
            {
                "pages": state["pages"] if mode == "fetch" else len(docs),
                "seconds": state["last"] - state["opened"] + state["index"],
                "wall": state["closed"] - state["opened"] + state["index"],
            }
        )
    )


def whoosh_index(docs: list[tuple[str, str, str]]) -> float:
    """Index (url, title, text) documents with Whoosh's default analyzer; return seconds."""
    from whoosh import fields, index

    start = time.perf_counter()
    schema = fields.Schema(
        url=fields.ID(stored=True, unique=True), title=fields.TEXT(stored=True), text=fields.TEXT
    )
    with tempfile.TemporaryDirectory(prefix="crawl-bench-whoosh-") as folder:
        writer = index.create_in(folder, schema).writer()
        for url, title, text in docs:
            writer.add_document(url=url, title=title, text=text)
        writer.commit()
        return time.perf_counter() - start


# --- one run ----------------------------------------------------------------------------


@dataclass
class RunResult:
    fetch_pps: float
    full_pps: float
    scrapy_pps: float
    peer_full_pps: float
    transfer_ratio: float
    bytes_per_page: float
    recrawl_pps: float


def one_run(n: int, work: Path, nginx: Nginx, paths: list[str]) -> RunResult:
    urls = [nginx.base + p for p in paths]
    tag = f"r{n}"
    # Distinct User-Agents let the access log split bytes by phase.
    ua = {
        phase: f"archiver/0.1 (+https://github.com/archiver-project/archiver) bench-{phase}-{tag}"
        for phase in ("fetch", "full", "recrawl")
    }
    pages = len(urls)

    cfg = write_config(work / f"fetch-{tag}.toml", work / f"unused-{tag}", urls, ua["fetch"])
    secs, ok = run_fetch_warc(cfg, work / f"warc-{tag}")
    if ok != pages:
        sys.exit(f"crawl.py: fetch+WARC got {ok} of {pages} pages")
    fetch_pps = pages / secs
    print(
        f"run {n}: fetch+WARC      {pages} pages in {secs:6.2f} s = {fetch_pps:7.1f} pages/s",
        flush=True,
    )

    store = work / f"store-{tag}"
    cfg = write_config(work / f"full-{tag}.toml", store, urls, ua["full"])
    secs, states = run_pipeline(cfg)
    if states.get("new", 0) != pages:
        sys.exit(f"crawl.py: the full pipeline did not store every page: {states}")
    full_pps = pages / secs
    print(
        f"run {n}: full pipeline   {pages} pages in {secs:6.2f} s = {full_pps:7.1f} pages/s",
        flush=True,
    )

    scrapy_agent = f"Scrapy bench-scrapy-{tag}"
    secs, wall, got = run_scrapy(nginx.base + "/", scrapy_agent)
    if got != pages:
        sys.exit(f"crawl.py: Scrapy fetched {got} of {pages} pages")
    scrapy_pps = pages / secs
    served = nginx.bytes_by_agent()[scrapy_agent]
    print(
        f"run {n}: Scrapy fetch    {pages} pages in {secs:6.2f} s = {scrapy_pps:7.1f} pages/s"
        f" (spider open to last article; {wall:.2f} s to spider closed;"
        f" nginx sent it {served[0]:,} B, statuses {dict(served[2])})",
        flush=True,
    )

    peer_agent = f"Scrapy bench-peer-full-{tag}"
    secs, wall, got = run_scrapy(nginx.base + "/", peer_agent, "full")
    if got != pages:
        sys.exit(f"crawl.py: the Scrapy + trafilatura + Whoosh peer indexed {got} of {pages} pages")
    peer_full_pps = pages / secs
    print(
        f"run {n}: peer full       {pages} pages in {secs:6.2f} s = {peer_full_pps:7.1f} pages/s"
        f" (Scrapy + trafilatura + Whoosh; ratio full/peer {full_pps / peer_full_pps:.2f})",
        flush=True,
    )

    before = store_sizes(store)
    cfg = write_config(work / f"recrawl-{tag}.toml", store, urls, ua["recrawl"])
    secs, states = run_pipeline(cfg)
    after = store_sizes(store)
    grown = sum(after.values()) - sum(before.values())
    parts = ", ".join(
        f"{part} {(after[part] - before[part]) / pages:.0f}"
        for part in sorted(set(after) | set(before))
    )
    log = nginx.bytes_by_agent()
    first, again = log[ua["full"]], log[ua["recrawl"]]
    ratio = again[0] / first[0]
    both = (again[0] + again[1]) / (first[0] + first[1])
    print(
        f"run {n}: re-crawl        {pages} pages in {secs:6.2f} s = {pages / secs:7.1f} pages/s;"
        f" states {states}; nginx statuses {dict(again[2])}",
        flush=True,
    )
    print(
        f"run {n}: bytes sent first {first[0]:,} re-crawl {again[0]:,} (ratio {ratio:.4f};"
        f" with request bytes {both:.4f}); store grew {grown:,} B = {grown / pages:.1f} B/page"
        f" ({parts})",
        flush=True,
    )
    return RunResult(
        fetch_pps, full_pps, scrapy_pps, peer_full_pps, ratio, grown / pages, pages / secs
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="article pages (default 2000)")
    parser.add_argument("--runs", type=int, default=1, help="runs; figures are medians")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-gzip", action="store_true", help="nginx sends pages uncompressed")
    parser.add_argument(
        "--scrapy-child", nargs=3, metavar=("URL", "AGENT", "MODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.scrapy_child:
        scrapy_child(*args.scrapy_child)
        return
    if args.pages < 1 or args.runs < 1:
        parser.error("--pages and --runs must be at least 1")
    find_nginx()
    if subprocess.run([sys.executable, "-c", "import scrapy"], capture_output=True).returncode:
        sys.exit("crawl.py: Scrapy is not installed: .venv/bin/pip install -e '.[bench]'")

    work = Path(tempfile.mkdtemp(prefix="archiver-crawl-bench-"))
    work.chmod(0o755)  # nginx started as root serves as "nobody", which must read the site
    nginx: Nginx | None = None
    try:
        start = time.perf_counter()
        paths, total, digest = generate_site(work / "site", args.pages)
        print(
            f"site: {len(paths)} articles + index + robots.txt, {total / 1e6:.1f} MB, "
            f"sha256 {digest[:16]}, generated in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        nginx = Nginx(work, work / "site", gzip=not args.no_gzip)
        print(
            f"nginx: {nginx.base} (gzip {'off' if args.no_gzip else 'on'}), work dir {work}",
            flush=True,
        )
        results = [one_run(n, work, nginx, paths) for n in range(1, args.runs + 1)]
    finally:
        if nginx is not None:
            nginx.stop()
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)

    def med(attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in results))

    print(
        f"pages={args.pages} fetch_pages_per_s={med('fetch_pps'):.1f} "
        f"full_pages_per_s={med('full_pps'):.1f} scrapy_pages_per_s={med('scrapy_pps'):.1f} "
        f"peer_full_pages_per_s={med('peer_full_pps'):.1f} "
        f"recrawl_transfer_ratio={med('transfer_ratio'):.4f} "
        f"recrawl_bytes_per_page={med('bytes_per_page'):.0f}"
    )


if __name__ == "__main__":
    main()
