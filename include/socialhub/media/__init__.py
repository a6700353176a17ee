"""Media of collected posts (issue 16): captured as evidence, PDQ-hashed, matched against hash
lists, OCR'd, and shown to reviewers only as a blurred preview.

Pure core: nothing here imports Airflow. Pillow and pdqhash are imported where they are used.
"""
