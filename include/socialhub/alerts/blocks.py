"""Render alerts as Slack Block Kit messages that hostile post text cannot subvert.

Threat model
------------
Every string that comes from a post (text, author, account, display name, the evidence spans
the classifier quotes, even the permalink) is written by whoever we are monitoring, who may
know or guess that their posts end up in a police Slack. Rendering must therefore guarantee:

* **No pings.** ``@channel``/``@here``/``@everyone`` (and legacy ``@group``) must never notify
  anyone, nor may ``<!channel>``, ``<!subteam^…>``, ``<@U…>`` or ``<#C…>`` control sequences. A
  hostile post must not be able to wake up a whole channel or tag a named officer.
* **No fake links or formatting.** ``<https://evil|Review case>`` would render as a link with
  a trusted-looking label; ``*URGENT*``/``> quote`` could imitate our own layout.
* **No evasion by invisible or look-alike characters.** ``@ch\u200bannel`` (zero-width space),
  ``＠here`` (fullwidth), ``@𝐡𝐞𝐫𝐞`` (mathematical bold) and bidi overrides are treated as what they
  normalise to (NFKC, case-folded, format characters ignored), so a filter cannot be walked
  around that way; the invisible characters themselves are removed so that what an officer
  sees is what the text contains.
* **Valid payloads whatever the input.** Lone surrogates, control characters and 100k-character
  posts must still produce a message Slack accepts, because a rejected message is a missed alert.

Defence is layered: post text goes into ``plain_text`` objects (which Slack never parses for
formatting or mentions) *and* is neutralised and entity-escaped anyway; the few ``mrkdwn`` objects
carry ``verbatim: true`` and escaped, markdown-defused values; the sink also posts with
``parse="none"``, ``link_names=False`` and unfurling off. Look-alike letters that are *not*
compatibility-equivalent (Cyrillic ``һеге``) are left as they are: Slack does not treat them as
mentions, and changing them would falsify what the post says.

The message is a notification for triage, not evidence: text is truncated and lightly altered
(see ``neutralise``). Officers open the post or the stored raw item for the record.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from socialhub.alerts.model import Alert, is_alert_id
from socialhub.alerts.present import (
    NO_REVIEW_LINK,
    NO_REVIEW_LINK_DIGEST,
    NO_REVIEW_LINK_ITEM,
    account_label,
    local_and_utc,
    subject_text,
    why_flagged,
)
from socialhub.alerts.severity import SEVERITY_ORDER, marker, severity_rank, why_severity

# Slack Block Kit limits (https://docs.slack.dev/reference/block-kit). Lengths are counted in
# UTF-16 code units here, which is never fewer than Slack's count, so staying under them is safe.
MAX_BLOCKS = 50
HEADER_TEXT_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
MAX_FIELDS = 10
CONTEXT_ELEMENTS_MAX = 10
BUTTON_TEXT_MAX = 75
BUTTON_URL_MAX = 3000
#: Not a Slack limit: the notification text is kept short because it is what lock screens show.
FALLBACK_TEXT_MAX = 600
#: Not a Slack limit: one evidence span, so ten of them fit in one section.
SPAN_MAX = 200
#: Not a Slack limit: a single value in the facts grid (handles, names, references).
VALUE_MAX = 300

TRUNCATED = "…(truncated)"
BROADCAST_KEYWORDS = ("channel", "here", "everyone", "group")

# Characters that are NFKC-equivalent to "@" (checked exhaustively by the tests).
_AT_SIGNS = frozenset("@\uff20\ufe6b")
# Format (Cf) characters kept because removing them changes how legitimate text reads:
# ZWNJ/ZWJ shape Persian/Indic script and join emoji; LRM/RLM/ALM place punctuation in RTL text.
_KEPT_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u061c")
# Invisible characters outside category Cf that are used to pad or disguise text.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ENTITY_RE = re.compile(r"[&<>]")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_LINE_START_QUOTE = re.compile(r"(?m)^([ \t]*)>")


def slack_len(text: str) -> int:
    """Length as Slack may count it (UTF-16 code units); an upper bound on the code-point count."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fix_surrogates(text: str) -> str:
    # Properly paired surrogates (from a UTF-16 source decoded code unit by code unit) become the
    # character they encode; lone ones become U+FFFD, because they cannot be serialised to UTF-8.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _drop_char(ch: str) -> bool:
    if ch in "\n\t":
        return False
    if ch in _INVISIBLE:
        return True
    cat = unicodedata.category(ch)
    if cat == "Cc":                 # C0/C1 controls, DEL
        return True
    if cat == "Cf":                 # zero-width, bidi overrides, tag characters, soft hyphen, BOM
        return ch not in _KEPT_FORMAT
    if 0xE0100 <= ord(ch) <= 0xE01EF:   # variation selectors 17-256: a known steganography channel
        return True
    return False


def _fold(ch: str) -> str:
    """What a character counts as when looking for a mention: NFKC, case-folded, marks ignored."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return ""
    return unicodedata.normalize("NFKC", ch).casefold()


def _is_broadcast_at(text: str, i: int) -> bool:
    """True if the at-sign at ``text[i]`` starts something that folds to a broadcast mention."""
    folded = ""
    longest = max(len(k) for k in BROADCAST_KEYWORDS)
    j = i + 1
    while j < len(text) and len(folded) < longest:
        folded += _fold(text[j])
        if any(folded.startswith(k) for k in BROADCAST_KEYWORDS):
            return True
        if not any(k.startswith(folded) for k in BROADCAST_KEYWORDS):
            return False
        j += 1
    return False


def neutralise(text: str) -> str:
    """Make untrusted text unable to notify anyone or hide anything, without escaping it.

    Steps (each visible to an officer only as a small change):

    1. paired surrogates are joined, lone surrogates become U+FFFD (they are not valid Unicode
       and would make the JSON payload unencodable);
    2. ``\\r\\n``/``\\r``/U+2028/U+2029 become ``\\n``; more than one blank line collapses to one;
    3. control characters (except tab and newline) and invisible characters are removed: zero-width
       spaces, word joiner, BOM, soft hyphen, bidi embeddings/overrides/isolates, tag characters,
       Hangul fillers, variation selectors 17-256. ZWJ/ZWNJ and LRM/RLM/ALM are kept because
       scripts and emoji need them;
    4. every at-sign (``@``, ``＠``, ``﹫``) that starts something folding to ``channel``, ``here``,
       ``everyone`` or ``group`` is wrapped in parentheses: ``@here`` -> ``(@)here``,
       ``＠ｈｅｒｅ`` -> ``(＠)ｈｅｒｅ``. The text stays readable and no longer contains a broadcast
       mention under any normalisation. Ordinary ``@handles`` are left alone: they only become
       Slack mentions with ``link_names``, which the sink never sets.

    The result still contains ``&``, ``<`` and ``>``: use ``escape_plain``/``escape_mrkdwn``
    before putting it in a payload.
    """
    text = _fix_surrogates(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = "".join(ch for ch in text if not _drop_char(ch))
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    if not any(ch in _AT_SIGNS for ch in text):
        return text
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in _AT_SIGNS and _is_broadcast_at(text, i):
            out.append(f"({ch})")
        else:
            out.append(ch)
    return "".join(out)


def _escape_entities(text: str) -> str:
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(0)], text)


def _defuse_markdown(text: str) -> str:
    """Replace mrkdwn control characters with look-alikes that Slack does not interpret.

    Slack has no backslash escape, so ``*bold*``, ``_italic_``, ``~strike~``, backtick code and
    line-leading ``>`` quotes are defused by substitution: ``*``->``∗``, ``~``->``∼``,
    backtick->``ˋ``, a quoting ``>`` -> ``›``, and ``_`` -> ``ˍ`` unless it sits between two
    letters or digits (Slack does not format intra-word underscores, and handles such as
    ``john_smith`` must stay copyable).
    """
    text = _LINE_START_QUOTE.sub(lambda m: m.group(1) + "\u203a", text)
    text = text.replace("*", "\u2217").replace("~", "\u223c").replace("`", "\u02cb")
    if "_" in text:
        chars = list(text)
        for i, ch in enumerate(chars):
            if ch == "_":
                before = chars[i - 1] if i > 0 else ""
                after = chars[i + 1] if i + 1 < len(chars) else ""
                if not (before.isalnum() and after.isalnum()):
                    chars[i] = "\u02cd"
        text = "".join(chars)
    return text


def escape_plain(text: str) -> str:
    """Untrusted text for a ``plain_text`` object: ``neutralise`` + ``&``/``<``/``>`` entities.

    Slack treats ``&``, ``<`` and ``>`` as control characters in every text object, so they are
    escaped even where no formatting applies.
    """
    return _escape_entities(neutralise(text))


def escape_mrkdwn(text: str) -> str:
    """Untrusted text for a ``mrkdwn`` object: ``neutralise``, defuse markdown, escape entities.

    After this, the text can contain no ``<`` or ``>`` (so no ``<!channel>``, ``<@U…>``,
    ``<#C…>`` or ``<url|label>`` link), no bare ``&`` (so no entity smuggled in to be decoded
    into one), no broadcast mention and no markdown formatting. Use it with ``verbatim: true``.
    """
    return _escape_entities(_defuse_markdown(neutralise(text)))


def _fit(text: str, limit: int, *, mrkdwn: bool = False, empty: str = "") -> str:
    """Escape untrusted ``text`` and cut it to ``limit`` UTF-16 units, marking any cut.

    The cut is chosen on the neutralised text by the *escaped* size of each character, so it
    falls between whole escape sequences (never inside ``&amp;``) and whole code points (never
    inside a surrogate pair). Markdown is defused after the cut, because a cut can turn an
    intra-word ``_`` into a word-final one. Very long input is pre-cut so rendering a 10 MB post
    stays cheap.
    """
    text = str(text)
    precut = limit * 2 + 64
    was_cut = len(text) > precut
    clean = neutralise(text[:precut] if was_cut else text)
    sizes = [slack_len(_ENTITIES.get(ch, ch)) for ch in clean]
    if was_cut or sum(sizes) > limit:
        budget = limit - slack_len(TRUNCATED)
        used = n = 0
        while n < len(clean) and used + sizes[n] <= budget:
            used += sizes[n]
            n += 1
        clean = clean[:n].rstrip() + TRUNCATED
    if mrkdwn:
        clean = _defuse_markdown(clean)     # one-for-one substitutions: the size can only shrink
    return _escape_entities(clean) or empty


def _own(text: str, limit: int) -> str:
    """Cut already-escaped text to ``limit`` UTF-16 units, marking the cut.

    The cut is made between code points and then moved back before any ``&`` whose entity
    it would split, so the result never ends in half of ``&amp;``.
    """
    if slack_len(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    budget = limit - slack_len(TRUNCATED)
    for ch in text:
        n = slack_len(ch)
        if used + n > budget:
            break
        out.append(ch)
        used += n
    cut = "".join(out)
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + TRUNCATED


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


_URL_SAFE = "!#$%&'()*+,-./:;=?@[]~_"   # RFC 3986 reserved + unreserved punctuation, and "%"


def safe_url(url: object) -> str | None:
    """The URL if it is an absolute http(s) URL fit for a button, else ``None``.

    Anything else (``javascript:``, ``file:``, relative, with user info, overlong) is dropped
    rather than repaired: a button is an invitation to click, so only plain web links qualify.
    The result is plain ASCII: an internationalised host is IDNA-encoded, and characters that
    are not allowed in a URI (non-ASCII, ``<``, ``>``, ``|``, quotes…) are percent-encoded.
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or any(unicodedata.category(ch)[0] in "CZ" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    netloc = host if port is None else f"{host}:{port}"
    if netloc != parts.netloc.lower():
        parts = parts._replace(netloc=netloc)
    url = quote(parts.geturl(), safe=_URL_SAFE)
    return url if len(url) <= BUTTON_URL_MAX else None


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _button(text: str, url: str, action_id: str, value: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": _plain(_own(text, BUTTON_TEXT_MAX)),
                              "url": url, "action_id": action_id}
    if value:
        button["value"] = value
    return button


def _score(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def media_lines(post: Mapping[str, Any]) -> list[str]:
    """The media line of a message: how many items, how many captured as evidence. Never a media
    URL: Slack would fetch and show it (the platform's copy, unblurred, to the whole channel)."""
    media = post.get("media") or []
    if not media:
        return []
    captured = [m for m in post.get("media_captured") or [] if isinstance(m, Mapping) and m.get("sha256")]
    if not captured:
        return [f"Media: {len(media)} item(s), not captured: open the post to view"]
    return [f"Media: {len(media)} item(s), {len(captured)} captured as evidence; "
            "blurred previews on the review page"]


def _category_scores(alert: Alert) -> list[tuple[str, object]]:
    """Labelled categories with their scores, highest first; all scores if nothing is labelled."""
    scores = alert.classification.get("scores") or {}
    names = alert.labels or list(scores)
    ranked = sorted(names, key=lambda c: (-(scores.get(c) or 0.0), c))
    return [(c, scores.get(c)) for c in ranked]


def _severity_marker(severity: str) -> str:
    return marker(severity)


def _field(label: str, value: str) -> dict[str, Any]:
    """A facts-grid entry: our label, then the untrusted value, in ``plain_text``.

    ``plain_text`` rather than ``mrkdwn`` so handles such as ``_john_`` stay exactly copyable
    and nothing in a display name can format.
    """
    body = _fit(_one_line(value), VALUE_MAX, empty="—")
    return _plain(_own(f"{label}\n{body}", FIELD_TEXT_MAX))


def evidence_label(reason: Mapping[str, Any]) -> tuple[str, str]:
    """(what fired, in words; the term, only if it reads as words) for one reason, unescaped.

    A known rule is shown by its plain label (``weapon word: blade``, ``context: sport``,
    ``announced intent to attack a person: cut``) and its term is left out: for lexicon regex
    entries and context rules the term is a raw regular expression, noise to an officer, and
    the quoted span already shows the words. A rule this version does not know keeps its id,
    and its term when that is words rather than a pattern. See ``socialhub.classify.describe``.
    """
    # Imported here: the classify package compiles its grammar on import, which alert-only
    # callers (DAG parsing, the sinks) should not pay for until a reason is rendered.
    from socialhub.classify.describe import plain_term, rule_label

    label = rule_label(reason)
    if label is not None:
        return label, ""
    return str(reason.get("rule") or ""), plain_term(reason.get("term")) or ""


#: Not a Slack limit: one line of "why flagged" (a quote and what it is).
REASON_LINE_MAX = SPAN_MAX + 120


def _reasons_text(classification: Mapping[str, Any]) -> str:
    """*Why flagged*: the post's own words and what they are, one line each, in plain words.

    ``present.why_flagged`` chooses and words the lines (no regex, offsets, weights or effect
    names); each line is escaped here as a whole, because it quotes the post.
    """
    head = "*Why flagged*"
    lines_in = why_flagged(classification)
    if not lines_in:
        return head + "\n(no evidence spans recorded)"
    lines = [head]
    used = slack_len(head)
    shown = 0
    for raw in lines_in:
        line = "• " + _fit(_one_line(raw), REASON_LINE_MAX, mrkdwn=True)
        remaining = len(lines_in) - shown - 1
        reserve = 40 if remaining else 0    # room for the "…and N more" line
        if used + 1 + slack_len(line) + reserve > SECTION_TEXT_MAX:
            break
        lines.append(line)
        used += 1 + slack_len(line)
        shown += 1
    if shown < len(lines_in):
        lines.append(f"…and {len(lines_in) - shown} more")
    return "\n".join(lines)


def _no_review_link(alert: Alert) -> str:
    return NO_REVIEW_LINK.format(alert_id=alert.alert_id if is_alert_id(alert.alert_id) else "(unknown id)")


def _fallback_text(alert: Alert, severity: str) -> str:
    """The notification text: our own words plus escaped identifiers, never the post text.

    It is what lock screens and notification centres show, so it says *that* something needs
    looking at, not what a possibly distressing post says.
    """
    cats = ", ".join(f"{_fit(_one_line(c), 40, mrkdwn=True)} {_score(s)}" for c, s in _category_scores(alert)[:4])
    account = _fit(_one_line(alert.post.get("account", "")), 80, mrkdwn=True)
    platform = _fit(_one_line(alert.post.get("platform", "")), 30, mrkdwn=True)
    where = _fit(_one_line(f"{alert.force} / {alert.team}"), 120, mrkdwn=True)
    text = f"socialhub {severity.upper()} alert: {cats or 'flagged post'} · {platform} {account} · {where}"
    return _own(text, FALLBACK_TEXT_MAX)


def _cap_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return blocks[: MAX_BLOCKS - 1] + [{"type": "context", "elements": [_plain(TRUNCATED)]}]


def render_alert(alert: Alert) -> dict[str, Any]:
    """One alert as ``{"text": fallback, "blocks": [...]}``, valid for ``chat.postMessage``.

    Blocks: header (severity + categories), facts grid (with the account's subject category:
    ``victim — safeguarding, not enforcement``), the post text (``plain_text``),
    why-flagged evidence spans (``mrkdwn``, escaped), a context line (classifier version, alert
    id, media count) and buttons to the post and the review page when those URLs are safe.
    """
    severity = alert.severity
    post = alert.post
    cats = _category_scores(alert)
    cat_names = ", ".join(_one_line(c) for c, _ in cats) or "flagged post"
    header = _fit(f"{_severity_marker(severity)} · {cat_names}", HEADER_TEXT_MAX)

    fields = [
        _field("Categories", " · ".join(f"{c} {_score(s)}" for c, s in cats) or "—"),
        _field("Severity", why_severity(alert.classification)),
        _field("Platform", post.get("platform", "")),
        _field("Account", account_label(post.get("account", ""), alert.account_display_name)),
        _field("Subject", subject_text(alert.subject)),
        _field("Author", post.get("author", "")),
        _field("Force / team", f"{alert.force} / {alert.team}"),
        _field("Authorisation", alert.authorisation_ref),
        _field("Posted at", local_and_utc(post.get("created_at", ""))),
        _field("Collected at", local_and_utc(post.get("collected_at", ""))),
    ][:MAX_FIELDS]

    blocks: list[dict[str, Any]] = [
        {"type": "header", "block_id": "header", "text": _plain(header)},
        {"type": "section", "block_id": "facts", "fields": fields},
        {"type": "section", "block_id": "post_text",
         "text": _plain(_fit(post.get("text", ""), SECTION_TEXT_MAX, empty="(no text)"))},
        {"type": "section", "block_id": "reasons",
         "text": _mrkdwn(_reasons_text(alert.classification))},
    ]

    version = _one_line(alert.classification.get("classifier_version", ""))
    if alert.classification.get("classifier_id"):   # the recorded version first: `socialhub classifier show ID`
        version = f"{_one_line(alert.classification['classifier_id'])} ({version or 'unknown'})"
    version = _fit(version, 120, empty="unknown")
    context = [_plain(f"Classifier {version}"), _plain(f"Alert {_fit(alert.alert_id, 64, empty='?')}")]
    context.extend(_plain(line) for line in media_lines(post))
    blocks.append({"type": "context", "block_id": "meta", "elements": context[:CONTEXT_ELEMENTS_MAX]})
    if not safe_url(alert.review_url):
        blocks.append({"type": "context", "block_id": "review_where", "elements": [_plain(_no_review_link(alert))]})

    value = alert.alert_id if is_alert_id(alert.alert_id) else None
    buttons = []
    post_url = safe_url(post.get("url"))
    if post_url:
        buttons.append(_button("Post link", post_url, "open_post", value))
    review_url = safe_url(alert.review_url)
    if review_url:
        buttons.append(_button("Review", review_url, "open_review", value) | {"style": "primary"})
    if buttons:
        blocks.append({"type": "actions", "block_id": "actions", "elements": buttons})

    return {"text": _fallback_text(alert, severity), "blocks": _cap_blocks(blocks)}


def _digest_order(alerts: Iterable[Alert]) -> list[Alert]:
    # High severity first, then newest post first; alert_id breaks ties so order is stable.
    items = sorted(alerts, key=lambda a: a.alert_id)
    items.sort(key=lambda a: str(a.post.get("created_at", "")), reverse=True)
    items.sort(key=lambda a: severity_rank(a.severity))
    return items


#: Text (UTF-16 units, summed over every text object) one digest message may carry. Slack refuses
#: a message whose blocks hold too much text in all with ``msg_blocks_too_long``, an undocumented
#: limit seen at about 12,000 characters (slackapi/bolt-js#2509, #2867), below the 50 blocks x 3,000
#: characters the per-block limits would allow; a digest part stays well under it.
DIGEST_TEXT_BUDGET = 8000
#: Blocks of a digest part before its items (header and counts).
_DIGEST_HEAD_BLOCKS = 2
#: Not Slack limits: what one digest item shows of the post text, of each evidence span, and how
#: many reasons before "+N more" (the Review page has them all).
DIGEST_SNIPPET_MAX = 280
DIGEST_SPAN_MAX = 100
DIGEST_REASONS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class DigestPart:
    """One message of a digest: the alerts it shows (every one of them, in full) and its payload."""

    alerts: tuple[Alert, ...]
    payload: dict[str, Any]
    index: int          # 1-based
    total: int          # parts in the whole digest
    first_item: int     # 1-based position of its first alert in the digest


def _digest_reason(line: str) -> str:
    return _fit(_one_line(line), DIGEST_SPAN_MAX + 60)


def _digest_item_text(alert: Alert) -> str:
    """Everything a single alert tells, compactly, in ``plain_text`` (never parsed by Slack).

    Severity and categories with scores; platform, account and display name; the author; the
    force/team and authorisation; when it was posted; the post text (cut); why it was flagged
    (the first evidence spans and rules, then how many more); the alert id.
    """
    post = alert.post
    cats = ", ".join(f"{_fit(_one_line(c), 40, empty='?')} {_score(s)}" for c, s in _category_scores(alert))
    account = _fit(_one_line(account_label(post.get("account", ""), alert.account_display_name)), 160, empty="?")
    lines = [
        f"{_severity_marker(alert.severity)} · {_own(cats, 300) if cats else 'flagged post'}",
        f"{_fit(_one_line(post.get('platform', '')), 30, empty='?')} · {account} · "
        f"subject {subject_text(alert.subject)} · author {_fit(_one_line(post.get('author', '')), 80, empty='—')}",
        f"Authorisation {_fit(_one_line(alert.authorisation_ref), 80, empty='—')} · "
        f"{_fit(_one_line(f'{alert.force} / {alert.team}'), 120)} · "
        f"posted {_fit(_one_line(local_and_utc(post.get('created_at', ''))), 60, empty='?')}",
        f"“{_fit(_one_line(post.get('text', '')), DIGEST_SNIPPET_MAX, empty='(no text)')}”",
    ]
    reasons = why_flagged(alert.classification)
    why = "; ".join(_digest_reason(r) for r in reasons[:DIGEST_REASONS_SHOWN]) or "(no evidence spans recorded)"
    if len(reasons) > DIGEST_REASONS_SHOWN:
        why += f"; +{len(reasons) - DIGEST_REASONS_SHOWN} more (open Review)"
    lines.append(f"Why flagged: {why}")
    if not safe_url(alert.review_url):
        lines.append(NO_REVIEW_LINK_ITEM)
    lines.append(f"Alert {_fit(alert.alert_id, 64, empty='?')}")
    return _own("\n".join(lines), SECTION_TEXT_MAX)


def _digest_item_blocks(alert: Alert, n: int) -> list[dict[str, Any]]:
    """An item: its text section, then its buttons (Review, Post link) when the URLs are safe."""
    blocks: list[dict[str, Any]] = [{"type": "section", "block_id": f"item_{n}",
                                     "text": _plain(_digest_item_text(alert))}]
    value = alert.alert_id if is_alert_id(alert.alert_id) else None
    buttons = []
    review_url = safe_url(alert.review_url)
    if review_url:
        buttons.append(_button("Review", review_url, f"open_review_{n}", value) | {"style": "primary"})
    post_url = safe_url(alert.post.get("url"))
    if post_url:
        buttons.append(_button("Post link", post_url, f"open_post_{n}", value))
    if buttons:
        blocks.append({"type": "actions", "block_id": f"item_{n}_links", "elements": buttons})
    return blocks


def _text_size(node: Any) -> int:
    """UTF-16 units of every text object under ``node`` (what Slack's cumulative limit counts)."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            return slack_len(node["text"])
        return sum(_text_size(v) for v in node.values())
    if isinstance(node, list):
        return sum(_text_size(v) for v in node)
    return 0


def _digest_head(total: int, team_text: str, index: int, parts: int, first: int, count: int,
                 counts: str, sev: str, no_links: bool = False) -> list[dict[str, Any]]:
    title = f"{total} socialhub alert(s) · {team_text}" + (f" ({index}/{parts})" if parts > 1 else "")
    span = f"items {first}–{first + count - 1} of {total}" if count > 1 else f"item {first} of {total}"
    where = f"Part {index} of {parts}: {span}" if parts > 1 else f"All {total} listed below"
    return [
        {"type": "header", "block_id": "header", "text": _plain(_own(title, HEADER_TEXT_MAX))},
        {"type": "context", "block_id": "counts", "elements": [
            _plain(_fit(counts or "no categories", 1000)),
            _plain(_fit(sev or "no alerts", 200)),
            _plain(where),
        ] + ([_plain(NO_REVIEW_LINK_DIGEST)] if no_links else [])},
    ]


def _split_items(sizes: list[tuple[int, int]], capacity_blocks: int, capacity_text: int,
                 max_items: int) -> list[int]:
    """How many items go in each part, greedily, with at most ``max_items`` per part."""
    counts: list[int] = []
    i = 0
    while i < len(sizes):
        blocks = text = n = 0
        while i < len(sizes) and n < max_items:
            b, t = sizes[i]
            if n and (blocks + b > capacity_blocks or text + t > capacity_text):
                break
            blocks, text, n, i = blocks + b, text + t, n + 1, i + 1
        counts.append(n)
    return counts


def render_digest_parts(alerts: Iterable[Alert], team: str) -> list[DigestPart]:
    """Many alerts for one channel as as few Slack messages as hold them all, for bursts.

    Posting fifty messages in a minute buries the urgent one and hits Slack's rate limit, so a
    burst is folded into a digest, high severity first. Nothing is left out: every alert is one
    item carrying what a single alert shows (severity, categories and scores, platform, account,
    author, force/team, authorisation, when posted, the post text cut to
    ``DIGEST_SNIPPET_MAX``, why it was flagged, the alert id, and Review and Post link buttons).
    When the items do not fit one message (50 blocks, ``DIGEST_TEXT_BUDGET`` of text), the digest
    is split into parts of about equal size, each a message of its own that says which items of
    how many it holds. Deliver and record each part on its own (``alerting.alert_batches``), so a
    crash between parts leaves the alerts of the parts not sent pending.
    """
    items = _digest_order(alerts)
    if not items:
        return []
    total = len(items)
    team_text = _fit(_one_line(team), 80, empty="(no team)")
    per_category: Counter[str] = Counter()
    per_severity: Counter[str] = Counter()
    for a in items:
        per_severity[a.severity] += 1
        for label in a.labels or ["unlabelled"]:
            per_category[_one_line(label)] += 1
    counts = " · ".join(f"{c}: {n}" for c, n in sorted(per_category.items(), key=lambda kv: (-kv[1], kv[0])))
    sev = " · ".join(f"{s}: {per_severity[s]}" for s in SEVERITY_ORDER if per_severity[s])

    rendered = [_digest_item_blocks(a, n) for n, a in enumerate(items)]
    sizes = [(len(b), _text_size(b)) for b in rendered]
    # The head's worst case: its longest part/position wording.
    no_links = any(not safe_url(a.review_url) for a in items)
    head_text = _text_size(_digest_head(total, team_text, total, total, total, total, counts, sev, no_links))
    capacity_blocks = MAX_BLOCKS - _DIGEST_HEAD_BLOCKS
    capacity_text = DIGEST_TEXT_BUDGET - head_text
    split = _split_items(sizes, capacity_blocks, capacity_text, total)
    if len(split) > 1:   # the same number of parts, of about equal size: 13 + 12, not 24 + 1
        even = _split_items(sizes, capacity_blocks, capacity_text, -(-total // len(split)))
        if len(even) == len(split):
            split = even

    fallback = _own(f"{total} socialhub alert(s) for {_fit(_one_line(team), 80, mrkdwn=True)}: "
                    f"{sev or 'none'}", FALLBACK_TEXT_MAX)
    parts: list[DigestPart] = []
    start = 0
    for index, count in enumerate(split, start=1):
        blocks = _digest_head(total, team_text, index, len(split), start + 1, count, counts, sev,
                              any(not safe_url(a.review_url) for a in items[start:start + count]))
        for item in rendered[start:start + count]:
            blocks.extend(item)
        text = fallback if len(split) == 1 else _own(f"{fallback} (part {index} of {len(split)})",
                                                     FALLBACK_TEXT_MAX)
        parts.append(DigestPart(alerts=tuple(items[start:start + count]), payload={"text": text, "blocks": blocks},
                                index=index, total=len(split), first_item=start + 1))
        start += count
    return parts
