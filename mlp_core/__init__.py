"""Practice Board's core: data, from-scratch layers, stacked training, diagnostics, folding.

Pure torch; never imports streamlit (tests/test_core_imports.py holds us to it).
"""
