"""All routers of the API, in matching order.

The app includes each module's router itself, not one router joining them: FastAPI checks an
included router's version, recursively through the routers included in it, on every match, so
one level of nesting less is cheaper per request (same routes, same order, same OpenAPI).
"""

from __future__ import annotations

from edip_api.api.routes import (
    actuals,
    data,
    explain,
    fallback,
    forecast,
    forecast_intraday,
    health,
    issuances,
    issued,
    metrics,
    model,
    online_state,
    predict,
    predictions,
)

#: every route module's router, in the order their routes are matched
routers = [
    module.router
    for module in (
        health,
        forecast,
        forecast_intraday,
        explain,
        fallback,
        predict,
        actuals,
        predictions,
        metrics,
        model,
        online_state,
        data,
        issuances,
        issued,
    )
]
