"""The dashboard's entry script: `footfall dashboard` runs it with `streamlit run`.

It draws the filters (in the sidebar, here in the entry script so that they keep
their values from page to page) and runs the page the user chose.
"""

import streamlit as st

from footfall.dashboard import view

st.set_page_config(page_title="footfall", page_icon="👣", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", default=True),
    st.Page("pages/hourly.py", title="Hourly"),
    st.Page("pages/dwell.py", title="Dwell time"),
    st.Page("pages/capture_rate.py", title="Capture rate"),
    st.Page("pages/occupancy.py", title="Occupancy"),
    st.Page("pages/stores.py", title="Stores"),
    st.Page("pages/sensor_health.py", title="Sensor health"),
    st.Page("pages/privacy.py", title="Privacy"),
]

page = st.navigation(PAGES)
view.build()
page.run()
