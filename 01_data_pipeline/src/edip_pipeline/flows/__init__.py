"""Prefect 3 flows: ``ingest``, ``backfill`` and ``build_features``.

Each flow is a thin shell over the plain functions of :mod:`edip_pipeline.ingest` and
:mod:`edip_pipeline.features`; it runs locally without a Prefect server (Prefect starts a temporary
one) and is deployed with schedules by :mod:`edip_pipeline.flows.deploy`.
"""
