import streamlit as st

st.title("zero_init")
st.info("Coming soon.")
