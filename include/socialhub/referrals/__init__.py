"""Referrals to platforms after an officer's "Refer to platform": the register and its figures.

    policies.py   what a referral cites (platform rule, law) and where it goes, per platform and category
    register.py   the register: one write-once record per referral, its status history, the pure API
                  the re-check DAG uses (list_open_referrals, record_check, close_referral, mark_escalated)
    stats.py      outcome figures: per platform, force and category, removal rate, time to removal
    cli.py        ``socialhub referral list|show|update|stats``

Importable without Airflow.
"""
