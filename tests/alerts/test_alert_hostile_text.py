"""Hostile post text must never ping, link, format or break the message."""

from __future__ import annotations

import os
import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient

from socialhub.alerts import blocks
from socialhub.alerts.blocks import escape_mrkdwn, escape_plain, neutralise, render_alert, render_digest_parts
from tests.servers.slack_api import SlackAPIServer

from ._factory import make_alert
from ._invariants import assert_safe_payload, folded, markdown_problems, problems_in

FRAGMENTS = [
    "<!channel>", "<!here|here>", "<!everyone>", "<!subteam^S0123|@officers>", "<!date^1392734382^{date}|x>",
    "<@U0123ABCD>", "<@W0123|boss>", "<#C0123ABCD|general>", "<https://evil.example|Review case>",
    "<mailto:a@b.c|mail>", "@channel", "@here", "@everyone", "@group", "@Channel", "@HERE",
    "＠here", "﹫channel", "@ch\u200bannel", "@\u2060here", "@\ufeffeveryone", "@ＥＶＥＲＹＯＮＥ", "@𝐡𝐞𝐫𝐞",
    "@c\u0301hannel", "@\u00adhere", "@h\U000e0065re", "&amp;", "&lt;!channel&gt;", "&#60;!here&#62;", "&",
    "<", ">", "*bold*", "_it_", "~s~", "`code`", "```pre```", "> quote", "\n>", "\n&gt; q", "\u202eevil\u202c",
    "\U000e0041\U000e0042", "\ud83d", "\ude00", "\ud83d\ude00", "😀", "👨\u200d👩\u200d👧", "\x00", "\x1b[31m",
    "\r\n", "\u2028", "\u0085", ":rotating_light:", "https://t.co/x", "\u3164", "@", "here", "\n\n\n\n",
]

#: Raise for a deeper search, e.g. SOCIALHUB_HYPOTHESIS_EXAMPLES=5000 before a release.
EXAMPLES = int(os.environ.get("SOCIALHUB_HYPOTHESIS_EXAMPLES", "150"))

hostile = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12),
              st.characters(codec=None, categories=["Cs", "Cf", "Cc", "Mn", "Zs", "Sm", "Lo"])),
    max_size=30,
).map("".join)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile, author=hostile, account=hostile, display=hostile, span=hostile, label=hostile,
       extra=hostile)
def test_any_text_renders_safe_and_accepted(text: str, author: str, account: str, display: str, span: str,
                                            label: str, extra: str, client: WebClient,
                                            slack: SlackAPIServer) -> None:
    alert = make_alert(
        text=text, author=author, account=account, account_display_name=display,
        labels=["weapon", label], scores={"weapon": 0.9, label: 0.5},
        reasons=[{"category": label, "rule": extra, "term": span, "start": 0, "end": 3, "text": span,
                  "weight": 0.5, "effect": extra}],
        classifier_version=extra, force=extra, team=label, authorisation_ref=span, url="https://x.com/" + extra,
        review_url="https://hub.example/" + span,
    )
    payload = render_alert(alert)
    assert_safe_payload(payload)
    (part,) = render_digest_parts([alert, make_alert(post_id="2", text=extra)], team=label)
    digest = part.payload
    assert_safe_payload(digest)
    before = len(slack.messages)
    client.chat_postMessage(channel="#alerts", **payload)
    client.chat_postMessage(channel="#alerts", **digest)
    assert len(slack.messages) == before + 2, slack.errors


@given(text=hostile)
@settings(max_examples=EXAMPLES * 3, deadline=None)
def test_escape_helpers_leave_nothing_parseable(text: str) -> None:
    assert problems_in(escape_plain(text)) == []
    mrkdwn = escape_mrkdwn(text)
    assert problems_in(mrkdwn) + markdown_problems(mrkdwn) == []


@given(text=st.text())
@settings(max_examples=EXAMPLES * 2, deadline=None)
def test_ordinary_text_survives_neutralise(text: str) -> None:
    # Text without at-signs, controls or invisible characters is not changed at all.
    text = "".join(ch for ch in text if ch not in "@＠﹫\r\n\u2028\u2029\u3164\u115f\u1160\uffa0\u2800\u034f"
                   and unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
                   and not 0xE0100 <= ord(ch) <= 0xE01EF)
    assert neutralise(text) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@here now", "(@)here now"),
        ("@@here", "@(@)here"),
        ("＠here", "(＠)here"),
        ("﹫ｃｈａｎｎｅｌ", "(﹫)ｃｈａｎｎｅｌ"),
        ("@ch\u200bannel", "(@)channel"),
        ("@Everyone!", "(@)Everyone!"),
        ("@𝐡𝐞𝐫𝐞", "(@)𝐡𝐞𝐫𝐞"),
        ("@c\u0301hannel", "(@)c\u0301hannel"),
        ("mail me at x@here.org", "mail me at x(@)here.org"),   # over-defusing is the safe side
        ("@heroes @john_smith @her", "@heroes @john_smith @her"),
        ("@һеге", "@һеге"),                                       # Cyrillic: not a Slack mention
        ("\u202egnp.exe", "gnp.exe"),
        ("a\ud800b\ud83d\ude00", "a\ufffdb😀"),
        ("a\r\nb\rc\u2028d", "a\nb\nc\nd"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("tab\there\x00\x1b[0m", "tab\there[0m"),
        ("👨\u200d👩\u200d👧 سلام\u200cدنیا", "👨\u200d👩\u200d👧 سلام\u200cدنیا"),
    ],
)
def test_neutralise_examples(raw: str, expected: str) -> None:
    assert neutralise(raw) == expected
    assert not any(word in folded(neutralise(raw)) for word in ("@here", "@channel", "@everyone"))


def test_escape_mrkdwn_examples() -> None:
    assert escape_mrkdwn("<!channel> & <@U1> <#C1|x> <http://e.example|Review>") == \
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;#C1|x&gt; &lt;http://e.example|Review&gt;"
    assert escape_mrkdwn("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;"
    assert escape_mrkdwn("*b* _i_ ~s~ `c` john_smith\n> quote") == \
        "∗b∗ ˍiˍ ∼s∼ ˋcˋ john_smith\n› quote"
    assert escape_plain("*b* <x> _i_") == "*b* &lt;x&gt; _i_"


def test_post_text_uses_plain_text_and_reasons_are_escaped() -> None:
    payload = render_alert(make_alert(text="<!channel> *URGENT* @here",
                                      reasons=[{"category": "weapon", "text": "<https://evil|Review> *x*"}]))
    post_text = next(b for b in payload["blocks"] if b["block_id"] == "post_text")["text"]
    assert post_text == {"type": "plain_text", "text": "&lt;!channel&gt; *URGENT* (@)here", "emoji": False}
    reasons = next(b for b in payload["blocks"] if b["block_id"] == "reasons")["text"]["text"]
    assert "“&lt;https://evil|Review&gt; ∗x∗”" in reasons


def test_at_sign_list_is_complete() -> None:
    # Every code point that NFKC-normalises to something containing "@" must be handled.
    found = {chr(cp) for cp in range(sys.maxunicode + 1)
             if not 0xD800 <= cp <= 0xDFFF and "@" in unicodedata.normalize("NFKC", chr(cp))}
    assert found == set(blocks._AT_SIGNS)
