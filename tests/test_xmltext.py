"""The feed's light XML escaping matches ``xml.sax.saxutils`` for any text."""

from __future__ import annotations

from xml.sax import saxutils

from hypothesis import given
from hypothesis import strategies as st

from publisher.channels.xmltext import escape, quoteattr


@given(st.text(alphabet=st.sampled_from("ab&<>\"'\n\r\t é"), max_size=30))
def test_escape_and_quoteattr_match_saxutils(text):
    assert escape(text) == saxutils.escape(text)
    assert quoteattr(text) == saxutils.quoteattr(text)
