"""What the extractor knows about markup: site rules and boilerplate patterns.

A :class:`SiteRule` names, with CSS selectors, where one family of sites keeps its article
body and byline. Everything else here is generic: tag sets for the DOM walk, the class/id
words that mark boilerplate (share bars, ads, related lists, comments, ...) and the
stock phrases that make a whole line boilerplate ("Advertisement", "무단전재 및 재배포 금지").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

__all__ = [
    "BLOCK_SKIP", "BYLINE", "INLINE", "NOISE", "NOISE_ROLES", "NOISE_TAGS", "NOT_NOISE",
    "RULES", "SiteRule", "boilerplate_line", "matches", "noise_label",
]  # fmt: skip


@dataclass(frozen=True)
class SiteRule:
    """Where one family of sites keeps its article body and byline (CSS selectors)."""

    name: str
    content: tuple[str, ...]
    author: tuple[str, ...] = ()


RULES: tuple[SiteRule, ...] = (
    SiteRule(  # WordPress with the Kadence theme (Slownews) and most WordPress themes
        "wordpress",
        content=(
            "article.single-entry #pavo_contents",
            "#pavo_contents",
            "article.single-entry .entry-content",
            "article .single-content",
            "article.post .entry-content",
        ),
        author=(".entry-meta a[rel=author]", ".entry-meta .author a", ".entry-meta .author"),
    ),
    SiteRule(  # the Korean news CMS behind articleView.html?idxno= pages, and its kin
        "korean-news-cms",
        content=("#article-view-content-div", "#articleBody", "#article_body", "#articeBody"),
        author=(".article-view-header .infomation", ".byline", ".journalist"),
    ),
    SiteRule(  # Korean portal news pages (the body is <br>-separated text)
        "korean-portal",
        content=("#dic_area", "#newsct_article", "#articleBodyContents"),
        author=(".media_end_head_journalist_name", ".byline_s"),
    ),
    SiteRule(  # schema.org microdata: the publisher's own statement of the body
        "schema-article-body",
        content=("[itemprop=articleBody]",),
    ),
)

MAX_ANCESTORS = 128
_COMPOUND = re.compile(r"([#.]?)([\w-]+)|\[([\w-]+)=[\"']?([^\"'\]]+)[\"']?\]")


def matches(node: LexborNode, selector: str) -> bool:
    """Whether ``node`` itself matches a simple selector (compounds and descendant spaces).

    Rules stay plain CSS, but lexbor's ``css_matches`` also looks at descendants, and a
    second pass over the tree per rule would cost as much as the extraction's own walk.
    Ancestors are looked at up to MAX_ANCESTORS levels up (a hostile page nests
    thousands deep; real pages, 51 at most).
    """
    compounds = selector.split()
    if not compounds or not _compound(node, compounds[-1]):
        return False
    wanted = len(compounds) - 2
    current = node.parent
    steps = MAX_ANCESTORS
    while wanted >= 0 and current is not None and steps:
        if _compound(current, compounds[wanted]):
            wanted -= 1
        current = current.parent
        steps -= 1
    return wanted < 0


def _compound(node: LexborNode, compound: str) -> bool:
    attrs = node.attributes if node.tag and node.tag[0] != "-" else {}
    classes = (attrs.get("class") or "").split()
    for sigil, name, attr, value in _COMPOUND.findall(compound):
        if attr:
            ok = attrs.get(attr) == value
        elif sigil == "#":
            ok = attrs.get("id") == name
        elif sigil == ".":
            ok = name in classes
        else:
            ok = node.tag == name
        if not ok:
            return False
    return True


# Never descended into: not text a reader sees as the article.
BLOCK_SKIP = frozenset((
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "button", "select", "option", "optgroup", "textarea", "input", "head", "title",
    "meta", "link", "video", "audio", "map", "area", "dialog", "frameset", "frame", "datalist",
))  # fmt: skip
# Text-level tags: their text joins the surrounding paragraph. Any other tag ends one.
INLINE = frozenset((
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font",
    "i", "ins", "kbd", "mark", "nobr", "q", "rp", "rt", "ruby", "s", "samp", "small", "span",
    "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr", "img", "picture",
    "source", "label", "acronym",
))  # fmt: skip
# Page chrome by tag or ARIA role; dropped unless they hold most of the page's text.
NOISE_TAGS = frozenset(("nav", "aside", "footer", "header", "form", "menu", "figcaption"))
NOISE_ROLES = frozenset((
    "navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog",
    "menu", "menubar", "toolbar", "alert", "tablist",
))  # fmt: skip

# Class/id words for boilerplate. Long words match anywhere in a token (ArticleShareBar,
# related-posts); short ones only as a whole part between - and _ (ad, nav, tags).
_NOISE_ANYWHERE = re.compile(
    r"share|sharing|social|subscri|newsletter|related|relation|comment|disqus|cookie|"
    r"consent|gdpr|breadcrumb|sponsor|advert|adsense|adsbygoogle|doubleclick|outbrain|"
    r"taboola|recommend|recirc|popular|mostread|most-read|most-viewed|mostviewed|trending|"
    r"ranking|sidebar|signup|sign-up|login|popup|modal|overlay|masthead|navbar|navigation|"
    r"pagination|pager|byline|caption|credit|copyright|footer|toolbar|skip-link|sr-only|"
    r"img-?desc|photo-?desc|image-?desc|"
    r"screen-reader|visually-hidden|visuallyhidden|print-only|promo|paywall|jump-link|"
    r"author-bio|authorbio|about-author|author-box|author-info|read-more|readmore|"
    r"more-stories|more-articles|morestories|also-read|see-also|reporter|journalist|"
    r"posted|infomation|article-head|view-head|"
    r"slideshow|gallery|carousel|widget|tooltip|rollover|hovercard|popover|timestamp|rating",
    re.IGNORECASE,
)
_NOISE_PART = re.compile(
    r"^(?:ads?|adv|advt|banner|nav|navi|menu|gnb|lnb|snb|tags?|tag-?list|keywords?|topics|"
    r"date|dates|time|meta|info|header|head|util|utils|tools|print|email|sns|rail|"
    r"bio|author|writer|reply|respond|prevnext|dfp|gpt|aside|"
    r"btn|button|icons?|logo|brand|hot|best|rank|series|subtitle|photo|video|"
    r"vod|audio|poll|quiz|survey|alert|notice|banner)$",
    re.IGNORECASE,
)
_KEEP_PREFIXES = (
    "category-", "tag-", "postid-", "format-", "type-", "status-", "has-", "hentry", "page-",
    "single", "post-template", "layout-", "no-", "is-", "content-", "entry-content",
    "template-", "theme-",
)  # fmt: skip
_NOISE_TOKEN = frozenset(("hidden", "hide", "invisible", "d-none", "is-hidden", "offscreen"))
# Embedded posts (tweets, Instagram, ...) are part of the story, whatever wraps them.
_EMBED = re.compile(
    r"tweet|instagram|tiktok|social-?media-?embed|social-?embed|embed-?(?:twitter|social)",
    re.IGNORECASE,
)
_PART_SPLIT = re.compile(r"[-_]+|(?<=[a-z])(?=[A-Z])")
_BYLINE = re.compile(
    r"byline|author|writer|reporter|journalist|posted|date|time|info|meta|head|dateline|"
    r"publish",
    re.IGNORECASE,
)
_NOT_BYLINE = re.compile(r"comment|related|popular|ranking|bio|box", re.IGNORECASE)
NOT_NOISE, NOISE, BYLINE = 0, 1, 2
_label_cache: dict[str, int] = {}


def noise_label(label: str) -> int:
    """NOISE (or BYLINE, a kind of noise) when a ``class id`` string marks boilerplate.

    Cached per string: a page repeats the same few hundred labels.
    """
    found = _label_cache.get(label)
    if found is None:
        found = NOT_NOISE
        if any(_noise_token(token) for token in label.split()):
            byline = _BYLINE.search(label) and not _NOT_BYLINE.search(label)
            found = BYLINE if byline else NOISE
        if len(_label_cache) > 50_000:
            _label_cache.clear()
        _label_cache[label] = found
    return found


def _noise_token(token: str) -> bool:
    lowered = token.lower()
    if lowered in _NOISE_TOKEN:
        return True
    if lowered.startswith(_KEEP_PREFIXES) or _EMBED.search(token):
        return False
    if _NOISE_ANYWHERE.search(token):
        return True
    return any(_NOISE_PART.match(part) for part in _PART_SPLIT.split(token) if part)


# Whole lines that are boilerplate wherever they appear.
_BOILERPLATE_LINE = re.compile(
    r"^(?:advertisements?|adverts?|ads?|sponsored|story continues below(?: advertisement)?|"
    r"don'?t miss|continue reading(?: below)?|read more|read more:.*|more:.*|related:.*|"
    r"see also:.*|"
    r"related (?:articles|stories|coverage|content)|recommended(?: for you)?|"
    r"share (?:this|on).*|share|tweet|email|print|comments?|show comments|"
    r"sign up(?: for| to).*|subscribe(?: now| today| to).*|"
    r"follow us on .*|you may also like|most (?:read|popular|viewed)|trending(?: now)?|"
    r"photo:.*|image:.*|image credit:.*|getty images|ap photo.*|"
    r"광고|기사\s*공유|공유하기|무단\s*전재\s*및\s*재배포\s*금지|.*무단\s*전재.{0,12}금지.*|"
    r"저작권자\s*[©ⓒ].*|관련\s*기사|많이\s*본\s*뉴스|많이\s*본\s*기사|댓글|좋아요|"
    r"▶.*|☞.*)$",
    re.IGNORECASE,
)


def boilerplate_line(text: str) -> bool:
    """A line that is boilerplate on its own: 'Advertisement', '관련기사', '저작권자 ©…'."""
    return len(text) <= 200 and _BOILERPLATE_LINE.match(text) is not None
