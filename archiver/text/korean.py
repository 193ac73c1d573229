"""A small rule-based Korean stemmer: particles, endings and light verbs off a word.

Korean glues particles (조사) and endings (어미) onto words: 올트먼이, 올트먼은,
졸업하였다, 선언했는가. The index keeps Hangul character bigrams for exact matching and
adds one *stem* per word for ranking, made here without a dictionary: the longest
particle or ending is cut, then further endings, then the light verb of "noun + 하다/되다"
(졸업했 → 졸업). On KorQuAD 1.0 this stem field ranks as well as kiwipiepy's morphemes
without kiwi's model load and per-paragraph cost (benchmarks/README.md). Index and query
use the same function, so an imperfect stem (사이 → 사) still matches itself; the bigram
field keeps exact matching.
"""

from __future__ import annotations

from functools import lru_cache


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Particles (조사) and the copula (이다) forms that close a noun phrase.
PARTICLES = _words("""
이 가 을 를 은 는 의 에 에서 에게 께 께서 한테 로 으로 와 과 도 만 까지 부터 보다 처럼
이나 나 랑 이랑 에는 에서는 으로는 로는 에도 에서도 과의 와의 에서의 으로의 로의 에게서
에게는 이라고 라고 이라는 라는 이란 란 들 들이 들을 들은 들의 들에 들에게 들과 들도 들로
으로서 로서 으로써 로써 만의 만이 만을 께서는 까지는 부터는 마다 조차 밖에 뿐 이며 이고
이자 이면 이다 였다 이었다 인 인가 인지 인데 일까 이었 였 이지만 이었던 였던 이라 이라서
이므로 이든
""")

# Particles common enough after a one-syllable noun to cut down to it (곳은 → 곳).
SHORT_PARTICLES = _words("""
을 를 은 는 의 에 에서 으로 로 에게 과 와 도 만 이 가 까지 부터 에는 이다 인
""")

# Endings (어미), including tense and honorific pre-endings and common fusions.
ENDINGS = _words("""
다 고 며 으며 면서 으면서 어 아 여 서 어서 아서 여서 지 게 기 음 던 은 는 을 는데 은데
나 으나 니 으니 자 도록 려고 으려고 러 으러 면 으면 다가 는가 은가 나요 까 을까 가요
습니다 니다 요 다고 라고 다는 라는 다며 냐 느냐 지만 기로 기도 기에 기는 기를 게는 고는
도 어도 아도 여도 었 았 였 겠 었다 았다 였다 었고 았고 였고 었으며 았으며 였으며 었던
았던 였던 었는데 았는데 었으나 았으나 었지만 았지만 었는가 았는가 었나 았나 였나 었을
았을 었다고 았다고 었다는 았다는 시 셨 셨다 신 실 으시 으셨
""")

# A past-tense ending may leave a one-syllable verb stem (맡았다 → 맡); others may not,
# or 바다 would lose its 다.
_PAST = ("었", "았", "였")

# The light verb of "noun + 하다/되다/시키다/받다/당하다" in its common surface forms.
LIGHT_VERBS = _words("""
하 한 할 함 했 해 합 되 된 될 됨 됐 돼 됩 시키 시킨 시켰 받 받은 받았 당하 당한 당했
""")

# First syllables of particles: the bigram after a one-syllable noun (칩을, 샘이, 칩에서).
PARTICLE_STARTS = _words("이 가 을 를 은 는 의 에 도 만 와 과 로 랑 나 께 한 처 보 까 부 마 뿐")

_LONGEST = max(len(s) for s in PARTICLES | ENDINGS)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem of one Hangul word (a run of Hangul syllables without spaces)."""
    first = True
    while True:
        n = len(word)
        cut = 0
        for length in range(min(_LONGEST, n - 1), 0, -1):
            suffix = word[-length:]
            rest = n - length
            if first and suffix in PARTICLES and (rest >= 2 or suffix in SHORT_PARTICLES):
                cut = length
                break
            if suffix in ENDINGS and (rest >= 2 or suffix.startswith(_PAST)):
                cut = length
                break
        if not cut:
            break
        word = word[:-cut]
        first = False  # a particle closes the word: only endings can stand before one
    if len(word) >= 3:
        for length in (3, 2, 1):
            if len(word) - length >= 2 and word[-length:] in LIGHT_VERBS:
                return word[:-length]
    return word


def is_particle(word: str) -> bool:
    """Whether a whole Hangul run is a particle or ending (as in "S8의", "10년을" → 년)."""
    return word in PARTICLES or word in ENDINGS
