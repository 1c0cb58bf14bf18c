"""Cubescope: a dashboard for hyperspectral and multispectral image cubes.

The entry point builds the navigation and the frame (page settings, the sidebar's cube picker);
each page lives in ``pages/`` and calls the ``cubescope`` processing package.
"""

import streamlit as st

from cubescope_ui.guard import page_guard
from cubescope_ui.navigation import frame

navigation = st.navigation([
    st.Page("pages/bands.py", title="Bands", icon=":material/layers:", default=True),
    st.Page("pages/smoothing.py", title="Smoothing", icon=":material/show_chart:", url_path="smoothing"),
    st.Page("pages/pca.py", title="PCA", icon=":material/scatter_plot:", url_path="pca"),
])
with page_guard("The page frame"):
    frame()
    navigation.run()
