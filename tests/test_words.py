"""Words (cubescope.words): counts, ordinals and numbers as a page says them."""

from __future__ import annotations

from cubescope.words import ordinal, plural


def test_words():
    assert plural(1, "band") == "1 band" and plural(3, "band") == "3 bands"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 103)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "103rd",
    ]
