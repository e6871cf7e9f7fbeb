"""Airflow loads this file as a plugin (plugins/.airflowignore hides the engine package itself)."""

from datafactory.airflow.plugin import DatafactoryPlugin

__all__ = ["DatafactoryPlugin"]
