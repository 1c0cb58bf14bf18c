"""Text from files shown as text (issue 26 #8): names in markdown that allows HTML."""

import re

import pytest

from cubescope_ui.text import html_text, plain


@pytest.mark.parametrize("name", ["![t](http://host/t.png)", "**b**", ":red[x]", "$x^2$", "<img src=x onerror=a()>",
                                  "[link](javascript:alert(1))", "`code`", "# heading"])
def test_names_cannot_become_markup(name):
    shown = html_text(name)
    assert "<" not in shown and ">" not in shown  # no tag survives
    # Every character markdown or KaTeX would act on is escaped.
    assert not re.search(r"(?<!\\)[`*_\[\]()#!:$]", shown), shown
    assert plain(name).replace("\\", "") == name
