"""Cubescope: a dashboard for hyperspectral and multispectral image cubes.

The entry point builds the navigation and the frame (page settings, the sidebar's cube picker);
each page lives in ``pages/`` and calls the ``cubescope`` processing package.
"""

from cubescope_ui.warm import import_page_modules

import_page_modules()

from cubescope_ui.frame import app_run, frame, navigation, page_links  # noqa: E402
from cubescope_ui.guard import page_guard  # noqa: E402

page = navigation()
with app_run(), page_guard("The page frame"):
    page_links()
    frame()
    page.run()
