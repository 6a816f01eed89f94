"""Prefect flow ``alerts``: evaluate the alert rules against the API and post them to the webhook.

Why a flow: scheduled every few minutes by Prefect (or run once by ``edip alerts`` / as a script),
it alerts without anyone having the dashboard open. ``alerts_flow.fn()`` runs it without Prefect.
"""

from __future__ import annotations

import logging
from typing import Any

from edip_dashboard.alerts import WebhookError, evaluate_alerts, post_webhook
from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings

try:
    from prefect import flow
except ImportError as exc:  # the dashboard image serves the pages only (no Prefect)
    raise ImportError(
        f"the alerts flow needs the 'flows' extra ({exc.name} is not installed): "
        "pip install 'edip-dashboard[flows]'",
        name=exc.name,
    ) from exc

log = logging.getLogger(__name__)


@flow(name="alerts", log_prints=False, retries=0)
def alerts_flow(
    api_url: str | None = None, webhook_url: str | None = None, post: bool = True
) -> list[dict[str, Any]]:
    """Evaluate every alert rule; post the fired ones to the webhook (when one is configured).

    ``api_url``/``webhook_url`` override ``EDIP_API_URL``/``EDIP_ALERT_WEBHOOK_URL``. Returns the
    alerts as JSON-able dicts. A webhook failure is logged and raised (the run fails, visibly).
    """
    overrides: dict[str, Any] = {}
    if api_url:
        overrides["api_url"] = api_url
    if webhook_url:
        overrides["alert_webhook_url"] = webhook_url
    settings = DashboardSettings(**overrides)
    with ApiClient(settings.base_url, settings.api_timeout_s, settings.page_limit) as client:
        alerts = evaluate_alerts(client, settings)
    for alert in alerts:
        log.warning("[%s] %s: %s", alert.severity, alert.title, alert.message)
    if post and alerts and settings.webhook_url is not None:
        try:
            post_webhook(settings.webhook_url, alerts, settings.api_timeout_s)
        except WebhookError:
            log.exception("alerts could not be posted")
            raise
    return [a.model_dump(mode="json") for a in alerts]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    alerts_flow()
