import streamlit as st

st.title("dataset")
st.info("Coming soon.")
