"""Airflow integration for socialhub: hooks, notifiers and the runtime wiring used by the DAGs.

Everything here is thin: it turns Airflow Connections into the plain objects the
``socialhub`` package works with (a ConnectorConfig, an ObjectStore, an alert sink).
"""
