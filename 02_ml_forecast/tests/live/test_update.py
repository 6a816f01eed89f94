"""The daily update finds the champion's online step through declared code, never a name."""

from __future__ import annotations

from edip_ml.live.update import find_online_hook
from edip_ml.models.online import live_update


def test_without_an_entry_point_the_hook_is_edip_s_own_online_update() -> None:
    assert find_online_hook("gam_kalman") is live_update
    assert find_online_hook(None) is live_update
