import streamlit as st

st.title("batchnorm_fold")
st.info("Coming soon.")
