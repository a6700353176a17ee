"""socialhub: the domain package of the police social media hub pipeline.

Importable and testable without Airflow: DAGs and plugins call into it.
"""

__version__ = "0.1.0"
