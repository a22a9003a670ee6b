"""Privacy: the anonymisation in force, in words a privacy officer can check, built
by footfall.privacy.report from the very configuration the pipeline uses (the same
report as `footfall privacy report`). It needs no data: it reads the settings,
folder listings and salt metadata, never a value of the data."""

import pandas as pd
import streamlit as st

from footfall.dashboard import view
from footfall.privacy import report, wording

REFRESH_S = 60  # the report walks every partition folder: seconds on years of many stores


@st.cache_data(ttl=REFRESH_S, show_spinner="Reading the privacy state (configuration, salts, folder listings)…")
def privacy_report(data_dir: str, config_file: str | None, config_changed: float | None) -> report.PrivacyReport:
    """build_report for the configuration in force, at most REFRESH_S old (keyed by the
    configuration file's mtime, so an edited file is read again at once)."""
    return report.build_report(current.settings)


current = view.current()
source = current.settings.source
built = privacy_report(
    str(current.settings.data_dir),
    str(source) if source else None,
    source.stat().st_mtime if source and source.exists() else None,
)
settings, state = built.settings, built.state

st.title("Privacy")
st.markdown(
    "How footfall protects the people it counts: what it keeps, for how long, and what the last check found. "
    "Nothing here shows anyone's data."
)
st.caption(
    f"The settings in force, from {built.config_file or 'the defaults (no configuration file)'}: the same "
    "configuration the collector and the pipeline use. `footfall privacy report` prints this report; "
    f"`footfall privacy audit` checks every output. As of {built.generated_at} (refreshed every minute)."
)

retention = settings.retention_days
optout = settings.optout.entries
last = state.last_destruction
first, second = st.columns(4), st.columns(4)
first[0].metric("k: smallest published count", settings.k, help="Every count below k is suppressed.")
first[1].metric("Salt epoch", settings.epoch, help="How long one salt links a device (store's local time).")
grace = wording.hours(settings.salt_grace_hours)
first[2].metric("Salts alive", state.salts_alive, help=f"Destroyed {grace} after their epoch and their last use.")
first[3].metric("Opt-out entries", "unreadable" if optout is None else optout)
for column, tier in zip(second[:3], ("sightings", "visits", "marts"), strict=True):
    column.metric(f"Retention: {tier}", wording.days(getattr(retention, tier)))
second[3].metric("Last salt destruction", last.destroyed_at[:10] if last else "never")

shown = [
    ("k: smallest published count", str(settings.k)),
    ("Salt epoch", settings.epoch),
    ("Salts alive", str(state.salts_alive)),
    ("Opt-out entries", "unreadable" if optout is None else str(optout)),
    *[(f"Retention: {tier}", wording.days(getattr(retention, tier))) for tier in ("sightings", "visits", "marts")],
    ("Last salt destruction", last.destroyed_at[:10] if last else "never"),
]
st.download_button(
    "Download this page (CSV)",
    pd.DataFrame(shown, columns=["setting", "value"]).to_csv(index=False).encode("utf-8"),
    file_name="footfall-privacy.csv",
    mime="text/csv",
    key="download-privacy",
)
st.markdown(report.render_markdown(built))
st.download_button(
    "Download the report (JSON)",
    report.render_json(built),
    file_name="footfall-privacy-report.json",
    mime="application/json",
)
