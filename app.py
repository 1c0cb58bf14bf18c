"""Cubescope: a dashboard for hyperspectral and multispectral image cubes.

The entry point builds the navigation and the sidebar's cube picker; each page lives in
``pages/`` and calls the ``cubescope`` processing package.
"""

import streamlit as st

from cubescope_ui.picker import cube_picker

st.set_page_config(page_title="Cubescope", page_icon=":material/satellite_alt:", layout="wide")

pages = [
    st.Page("pages/bands.py", title="Bands", icon=":material/layers:", default=True),
    st.Page("pages/smoothing.py", title="Smoothing", icon=":material/show_chart:", url_path="smoothing"),
    st.Page("pages/pca.py", title="PCA", icon=":material/scatter_plot:", url_path="pca"),
]
navigation = st.navigation(pages)
cube_picker(max_upload_mb=st.get_option("server.maxUploadSize"))
navigation.run()
