"""Registers socialhub with Airflow (plugins folder). Later: the auditors' page."""

from airflow.plugins_manager import AirflowPlugin


class SocialhubPlugin(AirflowPlugin):
    name = "socialhub"
