"""Test support for EDIP: the real platform (sample store, MLflow, API), the live loop's platform
and the dashboard's browser driver, shared by the packages' tests, ``bench/`` and the screenshot
script. Not shipped: the five packages never import it.
"""
