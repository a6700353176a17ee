# socialhub's Airflow image: the official Apache Airflow 3.3.2 image (Python 3.11) plus the Python
# runtime dependencies socialhub is tested with (requirements-runtime.txt: requirements.txt's pins,
# without the development and training-only packages) and the socialhub package itself.
# Built by `docker compose build` (docker-compose.yml `build:`); the same image serves the
# KubernetesExecutor (docs/production.md), which is why the DAGs, plugins and data files are baked in
# (compose mounts the working copies over them).
FROM apache/airflow:3.3.2-python3.11

ARG AIRFLOW_VERSION=3.3.2

ENV GX_ANALYTICS_ENABLED=False \
    PYTHONPATH=/opt/airflow/include \
    SOCIALHUB_WATCHLIST=/opt/airflow/include/watchlist.yaml \
    SOCIALHUB_DATA_DIR=/opt/airflow/socialhub-data

# 0. Media (issue 16): Tesseract (OCR of text in images, English data) and ffmpeg (video keyframes) from
#    Debian; g++ builds Meta's PDQ bindings (pdqhash has no wheel for this Python). As root, then back.
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng ffmpeg g++ \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

USER airflow

# 1. Dependencies (their own layer: rebuilt only when requirements-runtime.txt changes): the pinned
#    RUNTIME subset of requirements.txt (scripts/runtime_requirements.py writes it), so the image has no
#    pytest, hypothesis, moto, ruff, mypy, types-* nor scikit-learn (training runs offline). Pinning
#    apache-airflow to the image's version stops pip from moving Airflow itself, as the Airflow image
#    docs advise; pip/setuptools/uv are not in the runtime file, so the image's own tooling stays.
COPY --chown=airflow:root requirements-runtime.txt /tmp/requirements-runtime.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/requirements-runtime.txt \
 && rm -f /tmp/requirements-runtime.txt

# 2. The socialhub package (dependencies already there) and its command line (`socialhub ...`).
COPY --chown=airflow:root pyproject.toml README.md /tmp/socialhub/
COPY --chown=airflow:root include /tmp/socialhub/include
RUN pip install --no-cache-dir --no-deps /tmp/socialhub && rm -rf /tmp/socialhub

# 3. DAGs, plugins, data files and the set-up scripts; the outbox/data folder, owned by airflow
#    (a named volume mounted there starts with this ownership).
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root include /opt/airflow/include
COPY --chown=airflow:root scripts/airflow_init.sh scripts/airflow_db_clean.sh scripts/pools.py /opt/airflow/scripts/
RUN mkdir -p /opt/airflow/socialhub-data
