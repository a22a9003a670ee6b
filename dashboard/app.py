"""The dashboard's entry script: `footfall dashboard` runs it with `streamlit run`.

It draws the filters (in the sidebar, here in the entry script so that they keep
their values from page to page) and runs the page the user chose. The pages live
in app_pages/: a folder named pages/ beside this script would make Streamlit run
the page files on their own, without this script.
"""

import streamlit as st

from footfall.dashboard import view

st.set_page_config(page_title="footfall", page_icon="👣", layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", default=True),
    st.Page("app_pages/hourly.py", title="Hourly"),
    st.Page("app_pages/dwell.py", title="Dwell time"),
    st.Page("app_pages/capture_rate.py", title="Capture rate"),
    st.Page("app_pages/occupancy.py", title="Occupancy"),
    st.Page("app_pages/stores.py", title="Stores"),
    st.Page("app_pages/sensor_health.py", title="Sensor health"),
    st.Page("app_pages/privacy.py", title="Privacy"),
]

page = st.navigation(PAGES)
view.build()
page.run()
