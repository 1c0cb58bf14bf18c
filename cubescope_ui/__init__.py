"""Streamlit glue shared by the pages: cached access to cubes, the cube picker, common widgets.

Everything that computes lives in :mod:`cubescope`; this package only caches, lays out, and
keeps state.
"""
