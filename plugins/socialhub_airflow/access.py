"""Who may see and do what in Airflow: the three socialhub roles, named once, and each DAG's ``access_control``.

* ``socialhub_officer``: the on-duty officers. They see and answer the review DAG only (its
  Required Actions page); collection, processing and housekeeping are not theirs to see.
* ``socialhub_auditor``: read-only on every socialhub DAG and its runs (what ran, when, by whom).
* ``socialhub_platform``: the platform team, which runs the pipeline: every DAG and its runs.

Airflow applies ``access_control`` with the FAB auth manager (the dag-processor syncs these
per-DAG permissions into the roles). The roles themselves, with their global permissions (for an
officer: ``HITL Detail`` read/edit, ``Task Instances`` read), are created by the deployment; see
docs/production.md, "Roles and access". Under another auth manager the same role names are the
contract to map.

Imported by the DAG files at parse time: standard library only.
"""

from __future__ import annotations

OFFICER = "socialhub_officer"
AUDITOR = "socialhub_auditor"
PLATFORM = "socialhub_platform"
ROLES: tuple[str, ...] = (OFFICER, AUDITOR, PLATFORM)

# Airflow's per-DAG resources ("DAGs", "DAG Runs") and their actions
_READ = {"DAGs": {"can_read"}, "DAG Runs": {"can_read"}}
_RUN = {"DAGs": {"can_read", "can_edit", "can_delete"},
        "DAG Runs": {"can_read", "can_create", "can_delete", "menu_access"}}
# answering a review edits the task's HITL detail: DAG-level can_edit (with the global "HITL Detail")
_REVIEW = {"DAGs": {"can_read", "can_edit"}, "DAG Runs": {"can_read"}}

#: DAGs whose people are officers (the review pages); every other DAG is the platform team's
OFFICER_DAGS = frozenset({"socialhub_review"})


def access_control(dag_id: str) -> dict[str, dict[str, set[str]]]:
    """The ``access_control`` of one socialhub DAG: platform runs it, auditors read it, officers review."""
    acl = {PLATFORM: _copy(_RUN), AUDITOR: _copy(_READ)}
    if dag_id in OFFICER_DAGS:
        acl[OFFICER] = _copy(_REVIEW)
    return acl


def _copy(perms: dict[str, set[str]]) -> dict[str, set[str]]:
    return {resource: set(actions) for resource, actions in perms.items()}


__all__ = ["AUDITOR", "OFFICER", "OFFICER_DAGS", "PLATFORM", "ROLES", "access_control"]
