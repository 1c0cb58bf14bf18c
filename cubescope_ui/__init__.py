"""Streamlit glue shared by the pages; everything that computes lives in :mod:`cubescope`.

Layered one way, each module importing only those below it:

- ``frame`` (top): the page frame, the open cube, the share link, a page's fragment.
- ``picker``, ``exporting``: the sidebar's cube picker and upload panel; download panels.
- ``widgets``, ``viewer``: setting widgets that keep their values; the image viewer component.
- ``session``, ``data``, ``text``, ``guard`` (bottom): the session's analysis and its link,
  cached cubes and products, text shown as text, containment of errors.
"""
