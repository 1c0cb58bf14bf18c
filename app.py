"""Cubescope: a dashboard for hyperspectral and multispectral image cubes.

The entry point builds the navigation and the frame (page settings, the sidebar's cube picker);
each page lives in ``pages/`` and calls the ``cubescope`` processing package.
"""

from cubescope_ui.warm import import_page_modules

import_page_modules()

import streamlit as st  # noqa: E402

from cubescope_ui.frame import frame  # noqa: E402
from cubescope_ui.guard import page_guard  # noqa: E402

PAGES = [
    st.Page("pages/bands.py", title="Bands", icon=":material/layers:", default=True),
    st.Page("pages/smoothing.py", title="Smoothing", icon=":material/show_chart:", url_path="smoothing"),
    st.Page("pages/pca.py", title="PCA", icon=":material/scatter_plot:", url_path="pca"),
    st.Page("pages/bandmath.py", title="Band math", icon=":material/calculate:", url_path="bandmath"),
    st.Page("pages/continuum.py", title="Continuum", icon=":material/area_chart:", url_path="continuum"),
    st.Page("pages/library.py", title="Library", icon=":material/library_books:", url_path="library"),
    st.Page("pages/unmixing.py", title="Classes", icon=":material/category:", url_path="unmixing"),
    st.Page("pages/compress.py", title="Compression", icon=":material/compress:", url_path="compress"),
    st.Page("pages/map.py", title="Map", icon=":material/public:", url_path="map"),
]
# The page list is drawn by the app itself (client.showSidebarNavigation is off): Streamlit's own
# list showed the raw file names of pages/ until the first run after a server restart ended.
navigation = st.navigation(PAGES, position="hidden")
with page_guard("The page frame"):
    with st.sidebar.container(key="page_links"):
        for listed in PAGES:
            st.page_link(listed)
    frame()
    navigation.run()
