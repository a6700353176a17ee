"""The reports of ``socialhub reclassify`` and ``socialhub shadow report``: one HTML page and one CSV per table.

Built from the auditor's report's pieces (``socialhub.audit.report``: ``Table``, ``Column``,
``SummaryItem``, the formula-safe ``table_csv``) and with its look (its stylesheet is reused as
is), so the hub's reports read alike. The summary lines printed on stdout are made here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialhub.audit.report import TEMPLATES_DIR, Column, SummaryItem, Table, table_csv
from socialhub.reclassify import Comparison
from socialhub.reclassify.shadow import ShadowComparison

RECLASSIFY_HTML = "reclassify.html"
SHADOW_HTML = "shadow.html"
#: rows of one table shown on the page (every row is in its CSV)
MAX_ROWS = 500
_WIDE = frozenset({"note", "url", "old_labels", "new_labels", "live_labels", "shadow_labels", "live_scores",
                   "shadow_scores", "caveat"})


@dataclass
class Banner:
    kind: str                  # ok | empty | bad (the audit report's banner colours)
    headline: str
    details: list[str] = field(default_factory=list)


@dataclass
class Page:
    title: str
    meta: list[tuple[str, str]]
    summary: list[SummaryItem]
    tables: list[Table]
    sources: list[str]
    banners: list[Banner] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    max_rows: int = MAX_ROWS
    wide_keys: frozenset[str] = _WIDE


def _style() -> Any:
    """The auditor's report's stylesheet (one look for every report of the hub)."""
    from markupsafe import Markup

    text = (TEMPLATES_DIR / "report.html").read_text(encoding="utf-8")
    found = re.search(r"<style>.*?</style>", text, re.S)
    return Markup(found.group(0) if found else "")


def render(page: Page) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent)),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return str(env.get_template("page.html").render(page=page, style=_style()))


def write_page(page: Page, out_dir: str | Path, html_name: str) -> list[Path]:
    """``html_name``, ``summary.csv`` and one CSV per table in ``out_dir``; the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html = out / html_name
    html.write_text(render(page), encoding="utf-8")
    paths = [html]
    summary = Table("summary", "Summary", "", [Column("label", "Figure"), Column("value", "Value"),
                                               Column("hint", "Note")],
                    [{"label": s.label, "value": s.value, "hint": s.hint} for s in page.summary], "")
    for table in [summary, *page.tables]:
        p = out / table.filename
        p.write_bytes(table_csv(table))
        paths.append(p)
    return paths


def _yes_no(value: Any) -> str:
    """A flag as a reader says it (``None``: not known)."""
    return "not known" if value is None else ("yes" if value else "no")


def _n(value: int) -> str:
    return f"{value:,}"


def _pct(k: int, n: int) -> str:
    return f"{k / n:.1%}" if n else "n/a"


# --------------------------------------------------------------------------------------------- reclassify

_POST_COLUMNS = [Column("day", "Day"), Column("platform", "Platform"), Column("post_id", "Post id"),
                 Column("url", "URL"), Column("force", "Force"), Column("team", "Team", html=False),
                 Column("category", "Category"), Column("old_score", "Old score", numeric=True),
                 Column("new_score", "New score", numeric=True),
                 Column("old_threshold", "Old threshold", numeric=True),
                 Column("new_threshold", "New threshold", numeric=True),
                 Column("old_labels", "Old labels"), Column("new_labels", "New labels"),
                 Column("batch_id", "Batch", html=False)]


@dataclass
class ReclassifyRun:
    """What one ``socialhub reclassify`` run compared (for the page, the summary and the audit event)."""

    day_from: str
    day_to: str
    candidate: Any                      # VersionRecord
    comparison: Comparison
    notes: list[dict[str, Any]]         # versions.version_notes
    store_label: str = ""
    platform: str | None = None
    force: str | None = None

    @property
    def mismatches(self) -> list[dict[str, Any]]:
        """Recorded versions whose code is not the running code (or unknown): no exact reproduction."""
        out = [n for n in self.notes if n["code_matches"] is not True]
        if not self.candidate.code_matches:
            out.append({"version": self.candidate.id, "note": self.candidate.code_note(), "code_matches": False,
                        "same_as_candidate": True})
        return out

    @property
    def same_version(self) -> bool:
        return bool(self.notes) and all(n["same_as_candidate"] for n in self.notes)

    @property
    def scope(self) -> str:
        return (f"platform {self.platform or 'all'}, force {self.force or 'all'}")


def reclassify_page(run: ReclassifyRun) -> Page:
    c, cand = run.comparison, run.candidate
    meta = [("Period", f"{run.day_from} to {run.day_to} (UTC, both days included)"), ("Scope", run.scope),
            ("Candidate", cand.id), ("Store", run.store_label or "?")]
    banners = []
    for m in run.mismatches:
        banners.append(Banner("bad", "Classifier code differs: exact reproduction is not guaranteed.",
                              [str(m["note"])]))
    if run.same_version and not run.mismatches:
        if c.differences == 0:
            banners.append(Banner("ok", f"\u2714 Reproduced exactly: all {_n(c.posts)} posts got the recorded "
                                        "scores, labels and reasons."))
        else:
            banners.append(Banner("bad", f"\u2718 NOT reproduced: {_n(c.differences)} of {_n(c.posts)} posts differ "
                                         "from what the same version and code recorded.",
                                  ["Scores, labels or reasons changed although the version and the code are the "
                                   "same: report this to the platform team."]))
    summary = [
        SummaryItem("Posts re-classified", _n(c.posts), f"in {_n(c.batches)} stored batch(es)"),
        SummaryItem("Alerts recorded", _n(c.recorded_alerts), "posts with a label when processed"),
        SummaryItem("Alerts with the candidate", _n(c.new_alerts), cand.id),
        SummaryItem("Newly flagged", _n(c.added_posts), "posts the candidate would alert on, not alerted before",
                    attention=c.added_posts > 0),
        SummaryItem("No longer flagged", _n(c.dropped_posts), "alerted posts the candidate would not alert on",
                    attention=c.dropped_posts > 0),
        SummaryItem("Identical", f"{_n(c.identical)} ({_pct(c.identical, c.posts)})",
                    "same scores, labels and reasons, exactly"),
        SummaryItem("Scores changed", _n(c.scores_changed), f"labels changed {_n(c.labels_changed)}, "
                                                            f"reasons changed {_n(c.reasons_changed)}"),
        SummaryItem("Speed", f"{c.posts / c.seconds:,.0f}/s" if c.seconds else "n/a",
                    f"posts per second ({c.seconds:.1f}s)"),
    ]
    if c.errors:
        summary.append(SummaryItem("Not classified", _n(c.errors), "texts the candidate failed on", attention=True))
    thr = ", ".join(f"{k} {v:g}" for k, v in cand.thresholds.items())
    tables = [
        Table("versions", "Versions compared",
              "Each version that decided the stored posts, and whether this run's classifier code is the code it "
              "was recorded with. With other code, exact reproduction is not guaranteed.",
              [Column("version", "Recorded version"), Column("classifier_version", "Classifier"),
               Column("batches", "Batches", numeric=True), Column("posts", "Posts", numeric=True),
               Column("same_as_candidate", "Same as candidate"), Column("code", "Code fingerprint"),
               Column("code_matches", "Running code matches"), Column("note", "Note")],
              [n | {"same_as_candidate": _yes_no(n.get("same_as_candidate")),
                    "code_matches": _yes_no(n.get("code_matches")),
                    "batches": len(c.recorded.get(n["version"], {}).get("batches", ())),
                    "posts": c.recorded.get(n["version"], {}).get("posts", 0),
                    "classifier_version": c.recorded.get(n["version"], {}).get("classifier_version")}
               for n in run.notes], "no stored posts",
              notes=[f"Candidate {cand.id}: {cand.classifier_version}; thresholds {cand.thresholds_version} ({thr}); "
                     f"origin {cand.origin or 'recorded'}; code {cand.code}"
                     f"{'' if cand.code_matches else ' (NOT the running code)'}"]),
        Table("newly_flagged", "Newly flagged posts",
              "Posts not alerted when processed that the candidate would alert on: one row per category it gives.",
              _POST_COLUMNS, c.newly_flagged, "none: the candidate flags no post that was not flagged"),
        Table("no_longer_flagged", "No longer flagged posts",
              "Posts alerted when processed that the candidate would not alert on: one row per recorded category.",
              _POST_COLUMNS, c.no_longer_flagged, "none: every alerted post would still be alerted"),
        Table("label_changes", "Still flagged, other categories",
              "Posts alerted both times but with a category added or dropped (the alert's wording and routing "
              "may change).", _POST_COLUMNS[:6] + [Column("change", "Change")] + _POST_COLUMNS[6:],
              c.label_changes, "none"),
        Table("score_shifts", "Score shifts per category",
              "Absolute change of each category's score, over every post, and how many posts crossed the "
              "threshold (up: labelled now, not before; down: the reverse).",
              [Column("category", "Category"), Column("posts", "Posts", numeric=True),
               Column("moved", "Score changed", numeric=True), Column("mean_shift", "Mean shift", numeric=True),
               Column("median_shift", "Median shift", numeric=True), Column("max_shift", "Max shift", numeric=True),
               Column("crossed_up", "Crossed up", numeric=True), Column("crossed_down", "Crossed down", numeric=True),
               Column("crossed", "Crossed", numeric=True)],
              c.shift_rows(), "no posts"),
        Table("alerts_per_day", "Alerts per day",
              "Alerts each version would have sent per day (an alert is a post with at least one label).",
              [Column("day", "Day"), Column("recorded_alerts", "Recorded", numeric=True),
               Column("new_alerts", "Candidate", numeric=True), Column("difference", "Difference", numeric=True)],
              c.day_rows(), "no posts"),
        Table("slices", "Per slice",
              "Flagged posts per platform, force and category: by the recorded classification, by the "
              "candidate, added and dropped. For a category, a post counts when it has that label.",
              [Column("slice", "Slice"), Column("value", "Value"), Column("old_flagged", "Old flagged", numeric=True),
               Column("new_flagged", "New flagged", numeric=True), Column("added", "Added", numeric=True),
               Column("dropped", "Dropped", numeric=True)],
              c.slice_rows(), "no posts"),
    ]
    sources = ["curated/platform=P/date=D/<batch>.jsonl: the stored posts and the classification each got "
               "(classification.classifier_id names the recorded version)",
               "classifiers/versions/<id>/: the recorded versions (files, SHA-256, code fingerprint)",
               "The candidate was run in this process over the stored post texts; nothing was alerted or stored "
               "but the audit event of this run."]
    return Page(f"Re-classification: {run.day_from} to {run.day_to}", meta, summary, tables, sources, banners)


def reclassify_lines(run: ReclassifyRun, paths: list[Path] | None = None) -> list[str]:
    c, cand = run.comparison, run.candidate
    lines = [f"reclassify {run.day_from}..{run.day_to} ({run.scope}): {_n(c.posts)} posts in {_n(c.batches)} "
             f"batch(es), {c.seconds:.1f}s ({c.posts / c.seconds if c.seconds else 0:,.0f} posts/s)",
             f"  candidate:          {cand.id} ({cand.classifier_version})"]
    for n in run.notes:
        rec = c.recorded.get(n["version"], {})
        code = ("same code" if n["code_matches"] else "OTHER CODE" if n["code_matches"] is False else "code unknown")
        lines.append(f"  recorded:           {n['version']} ({len(rec.get('batches', ()))} batch(es), "
                     f"{_n(rec.get('posts', 0))} posts; {code}"
                     f"{'; same version as the candidate' if n['same_as_candidate'] else ''})")
    lines += [f"  alerts:             recorded {_n(c.recorded_alerts)}, candidate {_n(c.new_alerts)} "
              f"(+{_n(c.added_posts)} newly flagged, -{_n(c.dropped_posts)} no longer flagged, "
              f"{_n(len(c.label_changes))} category change(s) on posts still flagged)",
              f"  identical:          {_n(c.identical)} of {_n(c.posts)} posts (scores, labels and reasons); "
              f"scores changed {_n(c.scores_changed)}, labels {_n(c.labels_changed)}, "
              f"reasons {_n(c.reasons_changed)}"]
    for r in c.shift_rows():
        if r["moved"] or r["crossed"]:
            lines.append(f"  {r['category'] + ':':<20}mean shift {r['mean_shift']:.4f}, max {r['max_shift']:.4f}, "
                         f"crossed the threshold {r['crossed_up']} up / {r['crossed_down']} down")
    if run.same_version and not run.mismatches:
        lines.append("  reproduction:       " + ("EXACT (the recorded version under its own code)" if c.differences == 0
                                                 else f"NOT EXACT: {_n(c.differences)} posts differ"))
    for m in run.mismatches:
        lines.append(f"  WARNING: {m['note']}: exact reproduction is not guaranteed")
    if c.errors:
        lines.append(f"  WARNING: the candidate could not classify {_n(c.errors)} post(s)")
    if paths:
        lines.append(f"  report:             {paths[0]} (+ {len(paths) - 1} CSV)")
    lines.append("  nothing was alerted and no stored result was changed")
    return lines


# --------------------------------------------------------------------------------------------- shadow

_SHADOW_POST_COLUMNS = [Column("version", "Shadow version"), Column("day", "Day"), Column("platform", "Platform"),
                        Column("post_id", "Post id"), Column("url", "URL"), Column("force", "Force"),
                        Column("team", "Team", html=False), Column("live_labels", "Live labels"),
                        Column("shadow_labels", "Shadow labels"), Column("live_scores", "Live scores"),
                        Column("shadow_scores", "Shadow scores"), Column("batch_id", "Batch", html=False)]


def _precision_text(r: dict[str, Any]) -> str:
    if r["shadow_precision"] is None:
        return "no estimate"
    lo, hi = r["shadow_precision_wilson95"]
    return f"{r['shadow_precision']:.0%} (95% CI {lo:.0%}-{hi:.0%}, n={r['shadow_precision_rests_on']})"


def shadow_page(comparisons: list[ShadowComparison], day_from: str, day_to: str, store_label: str = "",
                stored: dict[str, str] | None = None) -> Page:
    meta = [("Period", f"{day_from} to {day_to} (UTC, both days included)"),
            ("Shadow versions", ", ".join(c.version_id for c in comparisons) or "none"), ("Store", store_label or "?")]
    summary, warnings = [], []
    review_rows, agreement_rows, day_rows, added, dropped, reviewed = [], [], [], [], [], []
    for c in comparisons:
        s, r = c.summary(), c.review_figures()
        v = c.version_id
        summary += [
            SummaryItem("Agreement" + (f" ({v})" if len(comparisons) > 1 else ""),
                        f"{s['agreement']:.1%}" if s["agreement"] is not None else "n/a",
                        f"same label set on {_n(c.same_labels)} of {_n(c.posts)} posts"),
            SummaryItem("Alerts: live / shadow", f"{_n(c.live_alerts)} / {_n(c.shadow_alerts)}",
                        f"{v}: +{_n(len(c.added))} added, -{_n(len(c.dropped))} dropped",
                        attention=bool(c.added or c.dropped)),
            SummaryItem("Officer-confirmed kept", f"{r['confirmed_also_flagged']} of {r['confirmed']}",
                        "live alerts an officer referred, escalated or kept monitoring, the shadow also flags"),
            SummaryItem("False positives dropped", f"{r['rejected_dropped']} of {r['rejected']}",
                        "live alerts an officer marked 'No action (false positive)' the shadow would not send"),
            SummaryItem("Shadow precision (reviewed)", _precision_text(r), r["caveat"],
                        attention=(r["shadow_precision_rests_on"] or 0) < 30),
        ]
        if c.live_only or c.shadow_only or c.missing_live:
            warnings.append(f"{v}: {c.live_only} live post(s) have no shadow row, {c.shadow_only} shadow row(s) no "
                            f"live post ({len(c.missing_live)} batch(es) whose curated object is gone, e.g. erased "
                            "under the retention policy): they are left out of every figure.")
        agreement_rows.append({"version": v, "category": "(label set)", "agreement": s["agreement"],
                               "live_flagged": c.live_alerts, "shadow_flagged": c.shadow_alerts,
                               "added": len(c.added), "dropped": len(c.dropped)})
        agreement_rows += [{"version": v} | row for row in c.category_rows()]
        day_rows += [{"version": v} | row for row in c.day_rows()]
        added += [{"version": v} | row for row in c.added]
        dropped += [{"version": v} | row for row in c.dropped]
        reviewed += [{"version": v} | row for row in c.reviewed]
        review_rows.append({"version": v, "reviewed": r["reviewed_alerts"],
                            "by_option": ", ".join(f"{k} {n}" for k, n in r["by_option"].items()),
                            "confirmed": r["confirmed"], "confirmed_also_flagged": r["confirmed_also_flagged"],
                            "rejected": r["rejected"], "rejected_dropped": r["rejected_dropped"],
                            "timed_out": r["timed_out_not_counted"], "precision": r["shadow_precision"],
                            "precision_low": (r["shadow_precision_wilson95"] or [None, None])[0],
                            "precision_high": (r["shadow_precision_wilson95"] or [None, None])[1],
                            "rests_on": r["shadow_precision_rests_on"], "live_precision": r["live_precision"],
                            "caveat": r["caveat"], "stored_as": (stored or {}).get(v, "")})
    tables = [
        Table("reviews", "Against the officers' decisions",
              "Live alerts an officer decided (a review that timed out is no officer's decision and is not counted). "
              "Confirmed: referred, escalated or kept monitoring; rejected: 'No action (false positive)'. The "
              "shadow's precision on these is confirmed-and-flagged / all-flagged, with a Wilson 95% interval; "
              "live precision is over the same reviews.",
              [Column("version", "Shadow version"), Column("reviewed", "Reviewed alerts", numeric=True),
               Column("by_option", "Decisions"), Column("confirmed", "Confirmed", numeric=True),
               Column("confirmed_also_flagged", "Confirmed, shadow flags too", numeric=True),
               Column("rejected", "Rejected", numeric=True),
               Column("rejected_dropped", "Rejected, shadow drops", numeric=True),
               Column("timed_out", "Timed out (not counted)", numeric=True),
               Column("precision", "Shadow precision", numeric=True),
               Column("precision_low", "95% low", numeric=True), Column("precision_high", "95% high", numeric=True),
               Column("rests_on", "Rests on (decisions)", numeric=True),
               Column("live_precision", "Live precision", numeric=True), Column("caveat", "How far to trust it"),
               Column("stored_as", "Stored as", html=False)],
              review_rows, "no shadow results in the period"),
        Table("agreement", "Agreement",
              "Share of posts given the same labels by both: first the whole label set, then each category's yes/no.",
              [Column("version", "Shadow version"), Column("category", "Category"),
               Column("agreement", "Agreement", numeric=True), Column("live_flagged", "Live flagged", numeric=True),
               Column("shadow_flagged", "Shadow flagged", numeric=True), Column("added", "Added", numeric=True),
               Column("dropped", "Dropped", numeric=True)],
              agreement_rows, "no shadow results in the period"),
        Table("added", "Alerts the shadow would add",
              "Posts the shadow flags that live did not alert on (never reviewed by an officer).",
              _SHADOW_POST_COLUMNS, added, "none"),
        Table("dropped", "Alerts the shadow would drop",
              "Posts live alerted on that the shadow would not have flagged.", _SHADOW_POST_COLUMNS, dropped, "none"),
        Table("alerts_per_day", "Alerts per day",
              "Alerts live sent and the shadow would have sent, per day.",
              [Column("version", "Shadow version"), Column("day", "Day"),
               Column("live_alerts", "Live", numeric=True), Column("shadow_alerts", "Shadow", numeric=True),
               Column("difference", "Difference", numeric=True)], day_rows, "none"),
        Table("reviewed", "Reviewed live alerts",
              "Each live alert an officer decided, with the decision and whether the shadow flags it.",
              [Column("version", "Shadow version"), Column("alert_id", "Alert"), *_SHADOW_POST_COLUMNS[1:7],
               Column("officer_decision", "Officer's decision"), Column("shadow_flags", "Shadow flags it"),
               Column("live_labels", "Live labels"), Column("shadow_labels", "Shadow labels")],
              [r | {"shadow_flags": _yes_no(r.get("shadow_flags"))} for r in reviewed],
              "no live alert of the period has an officer's decision"),
    ]
    sources = ["shadow/<version>/platform=P/date=D/<batch>.jsonl: the shadow's results, never alerted",
               "curated/platform=P/date=D/<batch>.jsonl: the live results of the same batches",
               "review/decisions/<alert>.json: the officers' decisions on the live alerts"]
    return Page(f"Shadow classifier report: {day_from} to {day_to}", meta, summary, tables, sources,
                warnings=warnings)


#: posts the shadow would add or drop, listed by URL in the summary (the CSV lists them all)
LISTED = 5


def _listed(rows: list[dict[str, Any]], what: str, labels: str) -> list[str]:
    out = []
    for r in rows[:LISTED]:
        where = r.get("url") or f"{r.get('platform')}:{r.get('post_id')}"
        cats = str(r.get(labels) or "").split()
        scores = dict(p.split("=", 1) for p in str(r.get("live_scores") or "").split() if "=" in p)
        said = ", ".join(f"{c} {scores[c]}" for c in cats if c in scores) or "no label"
        out.append(f"    {what:<16}{where} ({said})")
    if len(rows) > LISTED:
        out.append(f"    ... and {len(rows) - LISTED} more (see the CSV)")
    return out


def shadow_lines(comparisons: list[ShadowComparison], paths: list[Path] | None = None,
                 stored: dict[str, str] | None = None) -> list[str]:
    lines = []
    for c in comparisons:
        s, r = c.summary(), c.review_figures()
        agree = f"{s['agreement']:.1%}" if s["agreement"] is not None else "n/a"
        by_cat = ", ".join(f"{k} {v:.1%}" for k, v in s["agreement_by_category"].items() if v is not None)
        lines += [f"shadow {c.version_id}, {c.day_from}..{c.day_to}: {_n(c.posts)} posts in {_n(c.batches)} batch(es)",
                  f"  agreement:          {agree} same label set ({by_cat})",
                  f"  alerts:             live {_n(c.live_alerts)}, shadow {_n(c.shadow_alerts)} "
                  f"(+{_n(len(c.added))} added, -{_n(len(c.dropped))} dropped)",
                  *_listed(c.added, "would add:", "shadow_labels"), *_listed(c.dropped, "would drop:", "live_labels"),
                  f"  officers' reviews:  {r['reviewed_alerts']} decided live alert(s) "
                  f"({', '.join(f'{k} {n}' for k, n in r['by_option'].items()) or 'none'}; "
                  f"{r['timed_out_not_counted']} timed out, not counted)",
                  f"    confirmed:        shadow also flags {r['confirmed_also_flagged']} of {r['confirmed']}",
                  f"    false positives:  shadow drops {r['rejected_dropped']} of {r['rejected']}",
                  f"    precision:        shadow {_precision_text(r)}; live "
                  + (f"{r['live_precision']:.0%}" if r["live_precision"] is not None else "n/a")
                  + " on the same reviews",
                  f"    caveat:           {r['caveat']}"]
        if c.live_only or c.shadow_only:
            lines.append(f"  note: {c.live_only} live post(s) without a shadow row, {c.shadow_only} shadow row(s) "
                         "without a live post, left out")
        if stored and c.version_id in stored:
            lines.append(f"  stored:             {stored[c.version_id]} (attached by `socialhub classifier promote`)")
    if paths:
        lines.append(f"report: {paths[0]} (+ {len(paths) - 1} CSV)")
    return lines


__all__ = ["Banner", "Page", "ReclassifyRun", "reclassify_lines", "reclassify_page", "render", "shadow_lines",
           "shadow_page", "write_page"]
