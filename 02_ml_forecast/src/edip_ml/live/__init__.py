"""The daily operating loop: Prefect deployments that issue, sync, update and retrain by themselves.

One module per concept: :mod:`.config` (every knob), :mod:`.api` (the loop's HTTP client of the
EDIP API), :mod:`.gate` (data-quality gate), :mod:`.issue` (``issue-forecast`` and its catch-up),
:mod:`.sync` (``sync-actuals``), :mod:`.update` (``update`` and the online-update hook),
:mod:`.retrain` (``retrain`` and the live-aware promotion), :mod:`.deployments` (the schedules,
``edip live up`` / ``status``) and :mod:`.simulate` (fast-forward over history). Every "now" is
:func:`edip_pipeline.clock.now`.
"""
