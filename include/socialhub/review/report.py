"""The referral report: one self-contained HTML page a platform's trusted-flagger team can read.

Everything that came from the post (text, names, the permalink, the classifier's quoted
spans) is hostile input: every value is HTML-escaped, control and invisible/bidi characters
are removed for display, the permalink is a link only when it is a plain http(s) URL, and
the page loads nothing (no scripts, images, fonts or remote styles; a Content-Security-Policy
forbids them), so opening it tells nobody it was opened. The evidence of record is
``raw_item.*`` and ``post.json`` beside it; the page says so.

It deliberately leaves out internal routing (Slack channels, Airflow links).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from socialhub.alerts.blocks import safe_url
from socialhub.alerts.present import account_label, local_and_utc
from socialhub.review.model import Decision, display_text, evidence_words

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
color:#111;line-height:1.45}
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;
border-bottom:1px solid #eee}th{width:13rem;color:#444;font-weight:600}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.75rem;border:1px solid #ddd}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}
.note{color:#555;font-size:.9rem}
"""


def _e(value: Any, limit: int | None = 2000) -> str:
    return escape(display_text(value, limit), quote=True)


def _row(label: str, value_html: str) -> str:
    return f"<tr><th>{escape(label)}</th><td>{value_html}</td></tr>"


def _score(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "?"


def render_report(facts: Mapping[str, Any], *, classification: Mapping[str, Any], decision: Decision,
                  files: Sequence[Mapping[str, Any]]) -> str:
    url = safe_url(facts.get("permalink"))
    link = (f'<a href="{escape(url, quote=True)}" rel="noopener noreferrer nofollow">{_e(url)}</a>'
            if url else f"{_e(facts.get('permalink')) or '(none)'} <span class='note'>(not a web link)</span>")
    account = _e(account_label(facts.get("account"), facts.get("account_display_name")), 300)
    raw_text = str(facts.get("text") or "")
    shown = display_text(raw_text)
    removed = len(raw_text.replace("\r\n", "\n").replace("\r", "\n")) - len(shown)
    text_note = (f'<p class="note">{removed} invisible or control character(s) were removed for display; '
                 "post.json and the raw item keep the text exactly as collected.</p>" if removed > 0 else "")
    media = facts.get("media") or []
    media_html = "<br>".join(_e(m, 500) for m in media[:20]) if media else "none"

    scores = classification.get("scores") or {}
    labels = list(classification.get("labels") or [])
    cats = ", ".join(f"{_e(c, 60)} ({_score(scores.get(c))})" for c in labels) or "—"
    reasons = list(classification.get("reasons") or [])
    reason_rows = "".join(
        f"<tr><td>{_e(r.get('category'), 60)}</td><td>{_e(evidence_words(r), 120)}</td>"
        f"<td>{('“' + _e(r.get('text'), 300) + '”') if r.get('text') else '(no span)'}</td>"
        f"<td>{_score(r.get('weight'))}</td></tr>"
        for r in reasons[:25]) or '<tr><td colspan="4">(no evidence spans recorded)</td></tr>'

    by = decision.responded_by or {}
    officer = _e(by.get("name") or by.get("id") or "—")
    file_rows = "".join(f"<tr><td><code>{_e(f.get('name'), 100)}</code></td><td>{int(f.get('size') or 0)}</td>"
                        f"<td><code>{_e(f.get('sha256'), 100)}</code></td></tr>" for f in files)
    title = f"Referral: public post on {_e(facts.get('platform'), 40)} by {_e(facts.get('account'), 120)}"
    org = _e(facts.get("organisation"), 200)

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>{title}</title><style>{CSS}</style></head>
<body>
<h1>{title}</h1>
<p class="note">Referral {('from ' + org + ' ') if org else ''}for review under the platform's terms of service.
Reference <code>{_e(facts.get('alert_id'), 64)}</code>. A trained officer reviewed this public post and decided to
refer it; the automated scores below only brought it to the officer's attention.</p>

<h2>The post</h2>
<table>
{_row("Platform", _e(facts.get("platform"), 60))}
{_row("Account", account)}
{_row("Author", _e(facts.get("author"), 300))}
{_row("Post id", f"<code>{_e(facts.get('post_id'), 300)}</code>")}
{_row("Permalink", link)}
{_row("Posted at", _e(local_and_utc(facts.get("posted_at")), 80))}
{_row("Captured at", _e(local_and_utc(facts.get("captured_at")), 80))}
{_row("Media", media_html)}
{_row("SHA-256 of the raw item", f"<code>{_e(facts.get('raw_sha256'), 100)}</code>")}
</table>
<h3>Text as published</h3>
<pre>{escape(shown, quote=True) or "(no text)"}</pre>
{text_note}

<h2>Why it was flagged</h2>
<p>Categories: {cats}. Classifier <code>{_e(classification.get("classifier_version") or "unknown", 80)}</code>.</p>
<table><tr><th>Category</th><th>What matched</th><th>Matched text</th><th>Weight</th></tr>{reason_rows}</table>
<p class="note">The classifier is a triage aid. Its output is not evidence of an offence or of anyone's membership
of any group.</p>

<h2>The officer's decision</h2>
<table>
{_row("Decision", _e(decision.option, 60))}
{_row("Justification", f"<pre>{_e(decision.justification, 4000)}</pre>")}
{_row("Reviewing officer", officer)}
{_row("Decided at", _e(local_and_utc(decision.responded_at), 80))}
{_row("Authorisation", _e(facts.get("authorisation_ref"), 120))}
</table>

<h2>Files in this package</h2>
<table><tr><th>File</th><th>Bytes</th><th>SHA-256</th></tr>{file_rows}</table>
<p class="note">manifest.json lists every file with its hash, including this report. The SHA-256 of the raw item
file equals the hash recorded when the post was collected.</p>
</body></html>
"""
