"""Every datafactory DAG, generated from the specs in sources/, models/ and products/.

Add a feed, scenario or product by adding its spec files; this file never changes.
"""

from datafactory.airflow.factory import build_dags

globals().update(build_dags())
