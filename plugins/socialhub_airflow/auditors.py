"""The auditors' page: the auditor's report, read-only, inside Airflow's web server.

Mounted by ``socialhub_plugin.py`` as an Airflow 3 ``fastapi_apps`` sub-application under
``/socialhub-audit`` and linked from Airflow's navigation bar (``external_views``, shown in an
iframe at ``/plugin/socialhub-audit``).

Who may see it
--------------
1. The caller must be signed in to Airflow: the same JWT Airflow's own API accepts, from the
   ``Authorization: Bearer`` header or the ``_token`` cookie the login page sets, checked by
   Airflow's own ``get_user`` (so any auth manager works). Without one, a browser is sent to
   Airflow's login page and comes back afterwards; an API client gets 401.
2. The signed-in user must be named as an auditor in ``SOCIALHUB_AUDITOR_USERS`` (or
   ``[socialhub] auditor_users`` in airflow.cfg, i.e. ``AIRFLOW__SOCIALHUB__AUDITOR_USERS``):
   a comma-separated list of user names, each optionally limited to forces with
   ``name:force1|force2``. Being an Airflow admin does NOT make anyone an auditor: auditing is
   a separate duty from running the pipeline. Anyone else gets 403, and the refusal is itself
   recorded in the audit log.

Every page view records an ``access`` audit event (who, which period and force, why) before the
report is built, every CSV download an ``export`` event with the file's SHA-256, and every full
view of captured media a ``media_reveal`` event: a view that cannot be recorded is refused (503),
so there is no unaudited access. Only GET routes exist; nothing here changes pipeline data.

Media (issue 16): ``/media/<sha256>/preview.jpg`` serves the small blurred preview of a captured
media item from the store, and ``/media/<sha256>/full`` the stored copy itself on a deliberate
click: a confirmation page first (what it is, a warning, a reason), then, with ``confirm=1``, a
``media_reveal`` audit event (who, what, when, why) and only then the bytes: a raster image inline
with its sniffed type, anything else (SVG, video, unknown) only as an opaque download. Nothing is
ever fetched from or linked to the platform. These two routes are open to the users named in
``SOCIALHUB_REVIEWER_USERS`` (``[socialhub] reviewer_users``; same syntax) and to every auditor;
with ``?alert=ID`` (the review page's links) the media must belong to that alert, whose force must
be granted, and a user limited to forces must give one.

Why: every route that shows records takes a ``why`` query field (the period form's "Reason for
looking", carried in the CSV links and the explain form). Without one the view is recorded as made
without a reason (``details.why_given`` false) and the page says so; the auditor's report flags
it. With ``SOCIALHUB_REQUIRE_WHY=true`` (or ``[socialhub] require_why = true``) the page asks for a
reason first and shows no records, and a CSV or explain view without one is refused (400).
"""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialhub.alerts.links import APP_PREFIX  # defined in core: the review page's media links name it too
from socialhub.media.store import RASTER_TYPES

log = logging.getLogger(__name__)

URL_ROUTE = "socialhub-audit"
DEFAULT_DAYS = 30
VIA = "Airflow auditors' page"
MEDIA_VIA = "Airflow media page (socialhub)"
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_PREVIEW_HEADERS = {
    "Cache-Control": "private, max-age=300",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
}
_FULL_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
}
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'self'; base-uri 'none'",
}
ICON_SVG = ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='#1b4f8a' "
            "stroke-width='2' stroke-linecap='round' stroke-linejoin='round'><path d='M9 3h6l1 2h3v16H5V5h3z'/>"
            "<path d='M9 12l2 2 4-4'/></svg>")


# --------------------------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class AuditorGrant:
    """One named auditor; ``forces`` None means every force."""

    user: str
    forces: frozenset[str] | None = None

    def may_see(self, force: str | None) -> bool:
        return self.forces is None or (force is not None and force in self.forces)


def parse_auditors(spec: str) -> dict[str, AuditorGrant]:
    """``"alice, carol:demo-county|demo-metropolitan"`` -> grants by user name."""
    grants: dict[str, AuditorGrant] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        user, _, forces = item.partition(":")
        fs = frozenset(f.strip() for f in forces.split("|") if f.strip())
        grants[user.strip()] = AuditorGrant(user.strip(), fs or None)
    return grants


def _configured(env: str, option: str) -> dict[str, AuditorGrant]:
    spec = os.environ.get(env)
    if spec is None:
        try:
            from airflow.configuration import conf

            spec = conf.get("socialhub", option, fallback="") or ""
        except Exception:  # noqa: BLE001 - outside Airflow: nobody is named
            spec = ""
    return parse_auditors(spec)


def configured_auditors() -> dict[str, AuditorGrant]:
    """From ``SOCIALHUB_AUDITOR_USERS``, else ``[socialhub] auditor_users``; read on every request,
    so a change takes effect without restarting the API server."""
    return _configured("SOCIALHUB_AUDITOR_USERS", "auditor_users")


def configured_reviewers() -> dict[str, AuditorGrant]:
    """Who may use the media routes (blurred previews, audited full reveals): the users named in
    ``SOCIALHUB_REVIEWER_USERS`` (else ``[socialhub] reviewer_users``; same syntax as the auditors'
    list, ``name:force1|force2`` limiting a reviewer to forces), plus every auditor. Read on every
    request. An auditor also named as a reviewer gets the wider of the two grants."""
    grants = dict(configured_auditors())
    for name, grant in _configured("SOCIALHUB_REVIEWER_USERS", "reviewer_users").items():
        held = grants.get(name)
        if held is None or grant.forces is None:
            grants[name] = grant
        elif held.forces is not None:
            grants[name] = AuditorGrant(name, held.forces | grant.forces)
    return grants


def page_requires_why() -> bool:
    """``SOCIALHUB_REQUIRE_WHY``, else ``[socialhub] require_why``; read on every request."""
    from socialhub.audit.consult import require_why

    if os.environ.get("SOCIALHUB_REQUIRE_WHY") is not None:
        return require_why()
    try:
        from airflow.configuration import conf

        return conf.getboolean("socialhub", "require_why", fallback=False)
    except Exception:  # noqa: BLE001 - outside Airflow: not required
        return False


def _why(request: Request) -> str | None:
    from socialhub.audit.consult import clean_why

    return clean_why(request.query_params.get("why"))


def _why_details(why: str | None) -> dict[str, Any]:
    return {"why_given": why is not None, "why_from": "the page's reason field" if why else "not given"}


# --------------------------------------------------------------------------------------------- wiring


def default_store() -> Any:
    """``SOCIALHUB_STORE`` (a URL or folder) if set, else the pipeline's own store (connection
    ``socialhub_storage``, else the local folder), exactly as the DAGs open it."""
    url = os.environ.get("SOCIALHUB_STORE")
    if url:
        from socialhub.storage import open_store

        return open_store(url)
    from socialhub_airflow.runtime import store

    return store()


def default_watchlist() -> Any:
    from socialhub.config import Settings
    from socialhub.watchlist import load_watchlist

    path = Settings.from_env().watchlist
    return load_watchlist(path) if path.exists() else None


def default_runs(start: datetime, end: datetime) -> tuple[list[dict[str, Any]] | None, str]:
    """Airflow's run history from its metadata database (this runs inside the API server)."""
    from socialhub.audit.report import airflow_db_runs

    try:
        runs = airflow_db_runs(start, end)
    except Exception as exc:  # noqa: BLE001 - the page still shows the pipeline's own records
        log.warning("auditors' page: Airflow run history unavailable: %s", exc)
        return None, f"Airflow run history: NOT available ({type(exc).__name__}: {exc})"
    return runs, f"Airflow run history: {len(runs)} run(s) from Airflow's metadata database"


async def airflow_user(request: Request) -> Any:
    """The signed-in Airflow user, validated by Airflow's own ``get_user`` (header, then cookie).

    Raises ``fastapi.HTTPException`` (401 no/expired token, 403 invalid token) like Airflow's API.
    """
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPAuthorizationCredentials

    creds = None
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        creds = HTTPAuthorizationCredentials(scheme=scheme, credentials=value.strip())
    return await get_user(request, None, creds)


def login_url(request: Request) -> str:
    """Airflow's login page, coming back to this page afterwards."""
    try:
        from airflow.api_fastapi.app import get_auth_manager

        return str(get_auth_manager().get_url_login(next_url=str(request.url)))
    except Exception:  # noqa: BLE001
        return "/auth/login?" + urlencode({"next": str(request.url)})


# --------------------------------------------------------------------------------------------- pages


def _page(title: str, body: str, status: int) -> HTMLResponse:
    doc = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           "<style>body{font:15px/1.5 system-ui,sans-serif;color:#1d2430;max-width:44em;margin:40px auto;"
           "padding:0 20px}h1{font-size:22px}.box{border:1px solid #f0a3a5;background:#fdecec;border-radius:8px;"
           "padding:14px 18px}code{font-size:13px}</style></head><body>"
           f"<h1>{html.escape(title)}</h1><div class='box'>{body}</div></body></html>")
    return HTMLResponse(doc, status_code=status, headers=_HEADERS)


def _wants_html(request: Request) -> bool:
    return "text/html" in (request.headers.get("accept") or "")


def _user_name(user: Any) -> str:
    for attr in ("get_name", "get_id"):
        fn = getattr(user, attr, None)
        if callable(fn):
            try:
                name = fn()
            except Exception:  # noqa: BLE001
                continue
            if name:
                return str(name)
    return str(getattr(user, "username", "") or "unknown")


def _actor(user: Any, name: str, via: str = VIA) -> dict[str, Any]:
    actor: dict[str, Any] = {"kind": "person", "name": name, "via": via}
    role = getattr(user, "role", None)
    if role:
        actor["airflow_role"] = str(role)
    return actor


@dataclass
class _Query:
    start: date
    end: date
    force: str | None


def _parse_query(request: Request, grant: AuditorGrant, today: date) -> _Query | HTMLResponse:
    q = request.query_params
    try:
        end = date.fromisoformat(q["to"]) if q.get("to") else today
        start = date.fromisoformat(q["from"]) if q.get("from") else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        return _page("Bad period", "<p>The dates must look like 2026-11-30.</p>", 400)
    if end < start:
        return _page("Bad period", "<p>The last day is before the first day.</p>", 400)
    if (end - start).days > 3660:
        return _page("Bad period", "<p>The period may be at most ten years.</p>", 400)
    force = (q.get("force") or "").strip() or None
    if grant.forces is not None and force is None and len(grant.forces) == 1:
        force = next(iter(grant.forces))
    return _Query(start, end, force)


def create_app(*, store_factory: Callable[[], Any] = default_store,
               watchlist_factory: Callable[[], Any] = default_watchlist,
               runs_factory: Callable[[datetime, datetime], tuple[list[dict[str, Any]] | None, str]] = default_runs,
               user_resolver: Callable[[Request], Any] = airflow_user,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> FastAPI:
    """The sub-application. The factories are seams for tests; Airflow uses the defaults."""
    app = FastAPI(title="socialhub auditors' page", docs_url=None, redoc_url=None, openapi_url=None)

    async def authorise(request: Request, *, media: bool = False) -> tuple[Any, str, AuditorGrant] | Response:
        """The signed-in user and their grant: an auditor's, or for the media routes (``media``)
        a reviewer's or an auditor's. Anyone else is refused and the refusal recorded."""
        from fastapi import HTTPException

        try:
            user = await user_resolver(request)
        except HTTPException as exc:
            if exc.status_code not in (401, 403):
                raise
            # no, expired or invalid token: not signed in (Airflow's 403 here means "token invalid")
            if _wants_html(request):
                return RedirectResponse(login_url(request), status_code=303, headers=_HEADERS)
            return Response('{"detail":"Not authenticated: sign in to Airflow first"}', status_code=401,
                            media_type="application/json", headers={**_HEADERS, "WWW-Authenticate": "Bearer"})
        name = _user_name(user)
        if media:
            grant = configured_reviewers().get(name)
            if grant is None:
                _record_refusal(request, user, name,
                                "not named in SOCIALHUB_REVIEWER_USERS or SOCIALHUB_AUDITOR_USERS")
                return _page("Not a reviewer", (
                    f"<p>You are signed in to Airflow as <b>{html.escape(name)}</b>, who may not see captured "
                    "media.</p><p>Previews and full images of captured media are open only to the users named in "
                    "<code>SOCIALHUB_REVIEWER_USERS</code> or <code>SOCIALHUB_AUDITOR_USERS</code>. Ask the "
                    "platform team if you review alerts and need access.</p>"
                    "<p>This refusal has been recorded in the audit log.</p>"), 403)
            return user, name, grant
        grant = configured_auditors().get(name)
        if grant is None:
            _record_refusal(request, user, name, "not named in SOCIALHUB_AUDITOR_USERS")
            return _page("Not an auditor", (
                f"<p>You are signed in to Airflow as <b>{html.escape(name)}</b>, who is not an auditor.</p>"
                "<p>The auditors' report is open only to the users named in <code>SOCIALHUB_AUDITOR_USERS</code> "
                "(Airflow admins are not auditors by default). Ask the platform team if you need access.</p>"
                "<p>This refusal has been recorded in the audit log.</p>"), 403)
        return user, name, grant

    def _record_refusal(request: Request, user: Any, name: str, reason: str, force: str | None = None) -> None:
        try:
            from socialhub_airflow.runtime import audit_log

            audit_log(store_factory()).append(
                "access", actor=_actor(user, name), obj=f"auditors-page:{request.url.path}", force=force,
                justification=f"refused: {reason}", details={"granted": False, "reason": reason,
                                                             "query": str(request.url.query)})
        except Exception:  # noqa: BLE001 - a refusal is refused whether or not it could be recorded
            log.exception("auditors' page: could not record a refused access by %s", name)

    def _media_scope(request: Request, user: Any, name: str, grant: AuditorGrant, sha: str, store: Any
                     ) -> tuple[str | None, str | None] | Response:
        """(alert id, force) the media is asked for under. With ``?alert=ID`` (the review page's links)
        the media must be one of that alert's captured items and its force granted; without it, only
        a grant for every force will do (the same file may belong to posts of several forces)."""
        alert_id = (request.query_params.get("alert") or "").strip()
        if not alert_id:
            if grant.forces is not None:
                _record_refusal(request, user, name, "media asked for without an alert by a user limited to forces")
                return _page("Which alert?", "<p>You may see media only of the alerts of your forces: open it from "
                             "the alert's review page (its links name the alert).</p>", 403)
            return None, None
        from socialhub.alerts.model import is_alert_id

        if not is_alert_id(alert_id):
            return _page("Bad alert id", "<p>An alert id is 24 hexadecimal characters.</p>", 400)
        from socialhub.review.store import ReviewError, load_alert_context

        try:
            alert = load_alert_context(store, alert_id).alert
        except ReviewError as exc:
            return _page("No such alert", f"<p>{html.escape(str(exc))}</p>", 404)
        if not grant.may_see(alert.force):
            _record_refusal(request, user, name, f"force {alert.force or 'unknown'} not granted", alert.force)
            allowed = ", ".join(sorted(grant.forces or ()))
            return _page("Not your force", f"<p>{html.escape(name)} may see media only of: "
                         f"{html.escape(allowed)}.</p>", 403)
        if sha not in {m.get("sha256") for m in alert.post.get("media_captured") or []}:
            return _page("Not this alert's media", "<p>This media is not among the alert's captured media.</p>", 404)
        return alert_id, alert.force or None

    async def media_access(request: Request, sha: str) -> Response | tuple[Any, str, Any, tuple[str | None, str | None]]:
        """The checks both media routes make first: a well-formed id, a reviewer or auditor, and the
        alert's scope; (user, name, store, (alert id, force)) or the refusal."""
        if not _SHA_RE.fullmatch(sha):
            return _page("Bad media id", "<p>A media id is a SHA-256: 64 lower-case hexadecimal characters.</p>", 400)
        who = await authorise(request, media=True)
        if isinstance(who, Response):
            return who
        user, name, grant = who
        store = store_factory()
        scope = _media_scope(request, user, name, grant, sha, store)
        if isinstance(scope, Response):
            return scope
        return user, name, store, scope

    @app.get("/media/{sha}/preview.jpg")
    async def media_preview(request: Request, sha: str) -> Response:
        """The small blurred preview of a captured media item, from the store (never the platform)."""
        got = await media_access(request, sha)
        if isinstance(got, Response):
            return got
        store = got[2]
        from socialhub.media import store as mstore

        data = store.get_or_none(mstore.preview_key(sha))
        if data is None:
            why = no_preview_reason(mstore.load_info(store, sha))
            return Response(f"There is no preview of this media: {why}\n", status_code=404,
                            media_type="text/plain; charset=utf-8", headers=_HEADERS)
        return Response(data, media_type="image/jpeg", headers=_PREVIEW_HEADERS)

    @app.get("/media/{sha}/full")
    async def media_full(request: Request, sha: str) -> Response:
        """The stored copy itself, on a deliberate click: a confirmation page first (what it is, a
        warning, a reason); with ``confirm=1`` it is recorded (``media_reveal``) and only then served:
        a raster image inline, anything else (SVG, video, unknown) as a download, never rendered."""
        got = await media_access(request, sha)
        if isinstance(got, Response):
            return got
        user, name, store, (alert_id, force) = got
        from socialhub.media import store as mstore

        info = mstore.load_info(store, sha) or {}
        if not store.exists(mstore.object_key(sha)):
            return _page("Media not stored", "<p>This media is not in the store (never captured, or erased under "
                         "the retention policy).</p>", 404)
        why = _why(request)
        confirmed = request.query_params.get("confirm") == "1"
        if not confirmed:
            return _reveal_page(sha, info, name, alert_id, why or "", None, 200)
        if why is None and page_requires_why():
            return _reveal_page(sha, info, name, alert_id, "", "Give a reason first: nothing was shown.", 400)
        data = store.get(mstore.object_key(sha))
        from socialhub.models import sha256_hex

        if sha256_hex(data) != sha:
            log.error("media %s: the stored bytes do not match their hash; not served", sha)
            return _page("Stored copy altered", "<p>The stored bytes do not match their SHA-256, so they are not "
                         "shown. Tell the platform team.</p>", 500)
        mime = str(info.get("mime") or "application/octet-stream")
        inline = mime in RASTER_TYPES
        try:
            from socialhub_airflow.runtime import audit_log

            audit_log(store).append(
                "media_reveal", actor=_actor(user, name, MEDIA_VIA), obj=f"media:{sha}", force=force, justification=why,
                hashes={"media": sha},
                details={"sha256": sha, "mime": mime, "size": len(data), "via": MEDIA_VIA,
                         "served": "inline" if inline else "download (not rendered)", "alert": alert_id,
                         "granted": True, **_why_details(why)})
        except Exception as exc:  # noqa: BLE001 - no unaudited access
            log.exception("media %s: could not record the reveal; refusing it", sha)
            return _page("Media unavailable", "<p>Showing the full image could not be recorded in the audit log, "
                         f"so it is not shown ({html.escape(type(exc).__name__)}). Tell the platform team.</p>", 503)
        if inline:
            return Response(data, media_type=mime, headers={
                **_FULL_HEADERS, "Content-Disposition": f'inline; filename="{sha}.{RASTER_TYPES[mime]}"'})
        return Response(data, media_type="application/octet-stream", headers={
            **_FULL_HEADERS, "Content-Disposition": f'attachment; filename="{sha}.bin"'})

    def _build(q: _Query, grant: AuditorGrant, store: Any) -> Any:
        from socialhub.audit.report import build_report, period_bounds

        start, end = period_bounds(q.start, q.end)
        runs, note = runs_factory(start, end)
        from socialhub_airflow.runtime import audit_keys

        report = build_report(store, start=q.start, end=q.end, force=q.force, watchlist=watchlist_factory(),
                              runs=runs, runs_note=note, now=clock(), audit_keys=audit_keys())
        choices = sorted(set(report.forces) | set(grant.forces or ()))
        report.forces = [f for f in choices if grant.may_see(f)]
        return report

    async def checked(request: Request) -> tuple[Any, str, AuditorGrant, _Query] | Response:
        who = await authorise(request)
        if isinstance(who, Response):
            return who
        user, name, grant = who
        q = _parse_query(request, grant, clock().date())
        if isinstance(q, Response):
            return q
        if not grant.may_see(q.force):
            allowed = ", ".join(sorted(grant.forces or ()))
            _record_refusal(request, user, name, f"force {q.force or 'all forces'} not granted", q.force)
            return _page("Not your force", f"<p>{html.escape(name)} may audit only: {html.escape(allowed)}.</p>", 403)
        return user, name, grant, q

    @app.get("/icon.svg", include_in_schema=False)
    def icon() -> Response:
        return Response(ICON_SVG, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})

    @app.get("/", response_class=HTMLResponse)
    async def report_page(request: Request) -> Response:
        """The report for ?from=YYYY-MM-DD&to=YYYY-MM-DD&force=NAME (default: the last 30 days, all forces)."""
        got = await checked(request)
        if isinstance(got, Response):
            return got
        user, name, grant, q = got
        why = _why(request)
        root = request.scope.get("root_path", "").rstrip("/")
        if why is None and page_requires_why():
            return _reason_page(f"{root}/", q, name)
        try:
            store = store_factory()
            from socialhub_airflow.runtime import audit_log

            audit_log(store).append("access", actor=_actor(user, name), obj=f"auditors-page:{request.url.path}",
                                   force=q.force, justification=why,
                                   details={"from": q.start.isoformat(), "to": q.end.isoformat(), "force": q.force,
                                            "granted": True, **_why_details(why)})
        except Exception as exc:  # noqa: BLE001 - no unaudited access
            log.exception("auditors' page: could not record the access; refusing to show the report")
            return _page("Report unavailable", "<p>The view could not be recorded in the audit log, so the "
                         f"report is not shown ({html.escape(type(exc).__name__)}). Tell the platform team.</p>", 503)
        from socialhub.audit.report import render_html

        report = _build(q, grant, store)
        query = urlencode({k: v for k, v in (("from", q.start.isoformat()), ("to", q.end.isoformat()),
                                             ("force", q.force or ""), ("why", why or "")) if v})
        page = {"base": f"{root}/", "query": query, "user": name, "from": q.start.isoformat(),
                "to": q.end.isoformat(), "force_choices": report.forces, "forced": grant.forces is not None,
                "why": why or ""}
        return HTMLResponse(_with_explain_form(render_html(report, page=page), f"{root}/", why or ""),
                            headers=_HEADERS)

    @app.get("/explain", response_class=HTMLResponse)
    async def explain_page(request: Request) -> Response:
        """Why was this post alerted, or not? (``?target=URL|platform:post_id|alert id&why=TEXT``).

        The same check as the report page; the force of the post must be granted. The view is
        recorded (an ``access`` event: who, what, why) before the answer, or refused with 503."""
        who = await authorise(request)
        if isinstance(who, Response):
            return who
        user, name, grant = who
        from socialhub.explain.urls import TargetError, parse_target

        root = request.scope.get("root_path", "").rstrip("/")
        why = _why(request)
        try:
            target = parse_target(request.query_params.get("target") or "")
        except TargetError as exc:
            return _page("Target not understood", f"<p>{html.escape(str(exc))}</p>", 400)
        if why is None and page_requires_why():
            return _page("Give a reason first", "<p>Say why you are looking (a case or request reference and its "
                         "purpose) in the form's reason field: this hub records the reason for every view of a "
                         "post. Nothing was shown.</p>", 400)
        store = store_factory()
        report = _explain(store, target, watchlist_factory, clock())
        force = report.get("force")
        if not grant.may_see(force):
            _record_refusal(request, user, name, f"force {force or 'unknown'} not granted", force)
            allowed = ", ".join(sorted(grant.forces or ()))
            return _page("Not your force", f"<p>{html.escape(name)} may audit only: {html.escape(allowed)}.</p>", 403)
        try:
            from socialhub.explain.cli import record_view

            role = getattr(user, "role", None)
            record_view(store, report, by=name, why=why, via=VIA,
                        extra_actor={"airflow_role": str(role)} if role else None,
                        why_from=_why_details(why)["why_from"])
        except Exception as exc:  # noqa: BLE001 - no unaudited access
            log.exception("auditors' page: could not record the explain view; refusing it")
            return _page("Explain unavailable", "<p>The view could not be recorded in the audit log, so the "
                         f"answer is not shown ({html.escape(type(exc).__name__)}). Tell the platform team.</p>", 503)
        return HTMLResponse(_explain_doc(report, f"{root}/", name, why or ""), headers=_HEADERS)

    @app.get("/csv/{name}.csv")
    async def report_csv(request: Request, name: str) -> Response:
        """One table of the report as CSV; the download is recorded as an export with its SHA-256."""
        got = await checked(request)
        if isinstance(got, Response):
            return got
        user, uname, grant, q = got
        from socialhub.audit.report import record_report_event, table_csv

        why = _why(request)
        if why is None and page_requires_why():
            return _page("Give a reason first", "<p>A download is a disclosure: say why you are taking these records "
                         "(the report page's <i>Reason for looking</i>, which its CSV links carry). Nothing was "
                         "downloaded.</p>", 400)
        store = store_factory()
        report = _build(q, grant, store)
        try:
            table = report.table(name)
        except KeyError:
            return _page("No such table", f"<p>There is no table called {html.escape(name)}.</p>", 404)
        data = table_csv(table)
        try:
            record_report_event(store, report, {table.filename: data}, actor=_actor(user, uname), action="export",
                                why=why, extra={"table": name, "why_from": _why_details(why)["why_from"]})
        except Exception:  # noqa: BLE001 - no unaudited export
            log.exception("auditors' page: could not record the export; refusing it")
            return _page("Export unavailable", "<p>The download could not be recorded in the audit log.</p>", 503)
        fname = f"socialhub-{name}-{q.start.isoformat()}-{q.end.isoformat()}{'-' + q.force if q.force else ''}.csv"
        fname = re.sub(r"[^A-Za-z0-9._-]", "_", fname)  # header-safe whatever a force is called
        return Response(data, media_type="text/csv; charset=utf-8",
                        headers={**_HEADERS, "Content-Disposition": f'attachment; filename="{fname}"'})

    return app


def no_preview_reason(info: dict[str, Any] | None) -> str:
    """Why a stored media item has no preview, in words."""
    if info is None:
        return "this media is not in the store (never captured, or erased under the retention policy)"
    reason = info.get("reason")
    if reason == "svg":
        return "SVG is never rendered (it can carry scripts); only the stored file can be downloaded"
    if reason:
        return f"{info.get('error') or reason} ({reason})"
    if info.get("kind") not in ("image", "video"):
        return f"{info.get('mime') or 'this type'} is not an image or video"
    return "none was made when the media was captured"


def _fmt_size(n: object) -> str:
    if not isinstance(n, int) or isinstance(n, bool):
        return "unknown size"
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _reveal_page(sha: str, info: dict[str, Any], user: str, alert_id: str | None, why: str, problem: str | None,
                 status: int) -> HTMLResponse:
    """The confirmation asked before the full media is served: what it is, a warning, a reason."""
    e = html.escape
    mime = str(info.get("mime") or "unknown type")
    inline = mime in RASTER_TYPES
    dims = (f"{info['width']} × {info['height']} pixels" if isinstance(info.get("width"), int)
            and isinstance(info.get("height"), int) else "dimensions unknown")
    frames = info.get("frames")
    what = f"{e(mime)}, {e(_fmt_size(info.get('size')))}, {e(dims)}" + (
        f", {int(frames)} frames" if isinstance(frames, int) and frames > 1 else "")
    action = ("The full image will be shown in your browser, unblurred." if inline else
              "This type is never shown in the browser (it could carry scripts or is not an image): you can only "
              "download the stored file, as an opaque file (<code>application/octet-stream</code>).")
    required = " required" if page_requires_why() else ""
    hidden = "<input type='hidden' name='confirm' value='1'>" + (
        f"<input type='hidden' name='alert' value='{e(alert_id)}'>" if alert_id else "")
    body = ((f"<p><b>{e(problem)}</b></p>" if problem else "")
            + f"<p>Signed in as <b id='signed-in-user'>{e(user)}</b>. Media <code>{e(sha[:16])}…</code>: {what}."
            f"</p><p>{action}</p><p><b>Warning:</b> it may be distressing (violence, weapons, injuries). It is the "
            "copy captured when the post was collected, served from the hub's store, not from the platform.</p>"
            "<p>Seeing it is <b>recorded in the audit log</b> (who, what, when, and your reason) before it is "
            "served.</p>"
            f"<form method='get' action='full'>{hidden}<label>Reason for looking "
            f"<input name='why' id='why' size='48' maxlength='500' value='{e(why)}'{required}></label> "
            f"<button type='submit'>{'Show the full image' if inline else 'Download the file'}</button></form>")
    return _page("Show the full media?", body, status)


def _explain(store: Any, target: Any, watchlist_factory: Callable[[], Any], now: datetime) -> dict[str, Any]:
    from socialhub.explain.index import ExplainIndex
    from socialhub.explain.report import current_watchlist, explain

    watchlist = watchlist_factory()
    if watchlist is not None:
        entries, source = list(watchlist.accounts), "the configured watchlist"
    else:
        entries, source = current_watchlist(store)
    index = ExplainIndex(store, progress=lambda msg: log.info("explain: %s", msg))
    try:
        return explain(store, target, index=index, entries=entries, watchlist_source=source, now=now)
    finally:
        index.close()


def _explain_form(base: str, value: str = "", why: str = "") -> str:
    return (f"<form class='explain' method='get' action='{html.escape(base)}explain' "
            "style='margin:24px 0;padding:12px 16px;border:1px solid #c9d3e0;border-radius:8px'>"
            "<label><b>Why was this post alerted, or not?</b> "
            f"<input name='target' size='48' required value='{html.escape(value)}' "
            "placeholder='post URL, platform:post_id or alert id'></label> "
            f"<input name='why' size='28' value='{html.escape(why)}' "
            "placeholder='why you are looking (recorded)' aria-label='Reason for looking (recorded)'> "
            "<button type='submit'>Explain</button></form>")


def _reason_page(base: str, q: _Query, user: str) -> HTMLResponse:
    """The reason asked for before any record is shown (``SOCIALHUB_REQUIRE_WHY``): nothing shown, nothing
    recorded yet; the form comes back to the same period and force with ``why``."""
    e = html.escape
    hidden = "".join(f"<input type='hidden' name='{k}' value='{e(v)}'>" for k, v in
                     (("from", q.start.isoformat()), ("to", q.end.isoformat()), ("force", q.force or "")) if v)
    body = (f"<p>Signed in as <b id='signed-in-user'>{e(user)}</b>. The report shows records about people (accounts, "
            "posts, officers' decisions). This hub records who looks at them and <b>why</b>: say why you are "
            "looking (an audit reference or request and its purpose). Your reason is recorded with the view.</p>"
            f"<form method='get' action='{e(base)}'>{hidden}<label>Reason for looking "
            "<input name='why' id='why' size='48' required maxlength='500'></label> "
            "<button type='submit'>Show report</button></form>")
    return _page("Why are you looking?", body, 200)


def _with_explain_form(page: str, base: str, why: str = "") -> str:
    """The report page with the explain form at its end (the view it opens is audited too)."""
    form = _explain_form(base, why=why)
    at = page.rfind("</body>")
    return page[:at] + form + page[at:] if at >= 0 else page + form


def _explain_doc(report: dict[str, Any], base: str, user: str, why: str = "") -> str:
    from socialhub.explain.report import render_html

    e = html.escape
    recorded = (f"with your reason: {e(why)}" if why else "<b>without a reason</b> (the auditor's report flags it; "
                "give one in the form's reason field next time)")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Why was this post alerted, or not?"
            "</title><style>body{font:15px/1.5 system-ui,sans-serif;color:#1d2430;max-width:60em;margin:30px auto;"
            "padding:0 20px}h1{font-size:22px}h2{font-size:17px;margin-top:22px}.verdict{font-size:16px;"
            "border:1px solid #c9d3e0;background:#eef3f9;border-radius:8px;padding:10px 14px}pre{white-space:"
            "pre-wrap;background:#f6f8fa;padding:8px 12px;border-radius:6px;font-size:13px}th{text-align:left;"
            "padding-right:12px;vertical-align:top}</style></head><body>"
            f"<p><a href='{e(base)}'>&larr; Auditor's report</a> &middot; signed in as "
            f"<span id='signed-in-user'>{e(user)}</span> &middot; this view was recorded in the audit log, "
            f"{recorded}</p>"
            f"<h1>Why was this post alerted, or not?</h1><p>Target: <code>{e(str(report.get('target')))}</code></p>"
            f"{render_html(report)}{_explain_form(base, str(report.get('target') or ''), why)}</body></html>")


__all__ = ["APP_PREFIX", "URL_ROUTE", "AuditorGrant", "RASTER_TYPES", "configured_auditors", "configured_reviewers",
           "create_app", "no_preview_reason", "parse_auditors"]
