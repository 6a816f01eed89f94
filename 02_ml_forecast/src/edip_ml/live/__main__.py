"""``python -m edip_ml.live …`` = ``edip live …`` (tests and benchmarks start it by interpreter)."""

import logging

from edip_ml.live.cli import live_app

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    live_app()
