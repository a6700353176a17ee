"""Registers socialhub with Airflow (plugins folder): the auditors' page.

``fastapi_apps`` mounts the read-only auditors' page (``socialhub_airflow/auditors.py``) in
Airflow's API server under ``/socialhub-audit``; ``external_views`` adds "Auditors" to
Airflow's navigation bar, which shows that page inside the Airflow UI at
``/plugin/socialhub-audit``. Who may open it is decided by the page itself (signed-in users
named in ``SOCIALHUB_AUDITOR_USERS``), not by the link being visible. The same app serves the
blurred previews and the audited full view of captured media linked from the officers' review
pages (``/socialhub-audit/media/...``: reviewers in ``SOCIALHUB_REVIEWER_USERS`` and auditors).
``listeners`` seals each task's audit segment when the task ends (``socialhub_airflow/listener.py``).
"""

from airflow.plugins_manager import AirflowPlugin

from socialhub_airflow import listener
from socialhub_airflow.auditors import APP_PREFIX, URL_ROUTE, create_app


class SocialhubPlugin(AirflowPlugin):
    name = "socialhub"
    listeners = [listener]
    fastapi_apps = [{"app": create_app(), "url_prefix": APP_PREFIX, "name": "socialhub auditors' page"}]
    external_views = [{
        "name": "Auditors",                    # short: Airflow's nav bar cuts longer labels
        "href": f"{APP_PREFIX}/",
        "icon": f"{APP_PREFIX}/icon.svg",
        "url_route": URL_ROUTE,
        "destination": "nav",
        "nav_top_level": True,
    }]
