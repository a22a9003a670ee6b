"""What every page shares: the configuration, the marts, the filters and the empty state.

`footfall dashboard` passes the data folder, the secrets folder and the configuration
file to the app in the environment (FOOTFALL_DASHBOARD_DATA, FOOTFALL_DASHBOARD_SECRETS,
FOOTFALL_CONFIG), so that the app reads the
very configuration the pipeline uses. The filters live in the entry script (app.py),
so they keep their values from page to page; the page scripts read the View it leaves
in the session.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from footfall.config import Settings, load_settings, parse_opening_hours
from footfall.dashboard import display, figures
from footfall.dashboard.queries import Marts, MartsError, Selection
from footfall.errors import FootfallError

DATA_ENV = "FOOTFALL_DASHBOARD_DATA"
SECRETS_ENV = "FOOTFALL_DASHBOARD_SECRETS"  # the privacy page counts the salts alive there
DEFAULT_DAYS = 7
_VIEW_KEY = "_footfall_view"


@dataclass(frozen=True)
class View:
    settings: Settings
    marts: Marts
    stores: list[str]  # every store with published marts
    selection: Selection | None  # None: no data yet, or nothing selected

    @property
    def k(self) -> int:
        return self.settings.privacy.k

    def today(self) -> date:
        """Today in the (first selected) store's time zone: what "today" means to its manager."""
        store = self.selection.stores[0] if self.selection and self.selection.stores else None
        zone = self.settings.store(store).timezone if store else "UTC"
        return datetime.now(ZoneInfo(zone)).date()

    def zone(self, store: str) -> str:
        return self.settings.store(store).timezone


def settings_from_environment() -> Settings:
    data, secrets = os.environ.get(DATA_ENV), os.environ.get(SECRETS_ENV)
    return load_settings(None, Path(data) if data else None, Path(secrets) if secrets else None)


@st.cache_resource(show_spinner=False)
def _marts(data_dir: str, zones: tuple[tuple[str, str], ...], k: int) -> Marts:
    """One Marts (and its in-memory cache) per data folder, time zones and k, for every session."""
    by_store = dict(zones)
    return Marts(Path(data_dir), lambda store: by_store.get(store, "UTC"), k)


def build() -> View:
    """Loads the configuration and the marts, draws the filters in the sidebar and
    leaves the View in the session for the page to read (entry script only)."""
    try:
        settings = settings_from_environment()
    except FootfallError as exc:
        st.error(f"footfall: the configuration cannot be used: {exc}")
        st.stop()
    zones = tuple(sorted((name, store.timezone) for name, store in settings.file.stores.items()))
    marts = _marts(str(settings.data_dir), zones, settings.privacy.k)
    stores = marts.stores()
    selection = _filters(marts, stores) if stores else None
    view = View(settings=settings, marts=marts, stores=stores, selection=selection)
    st.session_state[_VIEW_KEY] = view
    return view


def _filters(marts: Marts, stores: list[str]) -> Selection | None:
    sidebar = st.sidebar
    sidebar.header("Filters")
    chosen = sidebar.multiselect("Stores", stores, key="stores", placeholder="All stores")
    selected = tuple(chosen) or tuple(stores)
    bounds = marts.date_bounds(selected)
    if bounds is None:
        sidebar.info("The selected stores have no day of data yet.")
        return None
    first, last = bounds
    default = (max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last)
    picked = sidebar.date_input(
        "Dates", value=default, min_value=first, max_value=last, key="dates", format="YYYY-MM-DD"
    )
    start, end = _date_range(picked, default)
    sidebar.caption(
        f"Data from {display.day_in_table(first)} to {display.day_in_table(last)}. The last day of the range is "
        "looked at closely."
    )
    return Selection(selected, start, end)


def _date_range(picked: object, default: tuple[date, date]) -> tuple[date, date]:
    """st.date_input gives a tuple of one date while the user is still choosing the second."""
    if isinstance(picked, date):
        return picked, picked
    if isinstance(picked, tuple | list) and picked:
        return picked[0], picked[-1]
    return default


def current() -> View:
    """The View the entry script prepared for this run (a page never builds its own)."""
    view = st.session_state.get(_VIEW_KEY)
    if view is None:  # the page was run on its own, not through app.py
        view = build()
    return view


def require_data() -> tuple[View, Selection]:
    """The View and its selection; with no data, the empty state instead, and the page stops."""
    view = current()
    if not view.stores:
        empty_state(view)
        st.stop()
    if view.selection is None:
        st.info("No day of data for the selected stores yet.")
        st.stop()
    return view, view.selection


def empty_state(view: View) -> None:
    """What a new user sees before the pipeline has published anything."""
    st.title("No data yet")
    data_dir = view.settings.data_dir
    if not data_dir.is_dir():
        st.warning(f"No data folder at {data_dir}: nothing to show (see --data).")
    st.markdown(
        f"""
footfall has not published any figures under `{data_dir / "marts"}` yet.
The dashboard shows aggregates only, once the pipeline has made them. To get some:

1. **Collect** probe requests from a sensor's captures (a monitor-mode adapter or an
   access point running tcpdump):

   ```
   footfall collect capture.pcap --store myshop --sensor door
   ```

2. **Run the pipeline**, which turns sightings into visits and the marts this page reads:

   ```
   footfall run
   ```

3. **Reload** this page.

To look around first, `make demo` in the footfall repository collects a real sample day,
and `footfall dashboard --data demo/data` opens it.
"""
    )


def guard(action):
    """Runs a page's query: a damaged mart file is named in a warning (its store-day reads
    "no data"), marts that cannot be queried at all are a one-line error."""
    try:
        result = action()
    except MartsError as exc:
        st.error(f"footfall: {exc}")
        st.stop()
    damaged = current().marts.damaged
    if damaged:
        listed = "; ".join(f"{path} ({why})" for path, why in sorted(damaged.items())[:5])
        more = f" and {len(damaged) - 5} more" if len(damaged) > 5 else ""
        st.warning(
            f"{len(damaged)} mart file(s) cannot be read and are left out (their store-days read “no data”): "
            f"{listed}{more}. Run `footfall run` for those days again."
        )
    return result


def scope(view: View, selection: Selection) -> str:
    """Which stores and dates a page shows, in one line."""
    if len(selection.stores) == len(view.stores) and len(view.stores) > 1:
        stores = f"All {len(view.stores)} stores"
    elif len(selection.stores) == 1:
        stores = f"Store {selection.stores[0]}"
    else:
        stores = f"{len(selection.stores)} stores: " + ", ".join(selection.stores)
    if selection.start == selection.end:
        return f"{stores} · {display.day_in_table(selection.day)}"
    return f"{stores} · {display.day_in_table(selection.start)} to {display.day_in_table(selection.end)}"


def header(title: str, explanation: str, view: View, selection: Selection) -> None:
    """The page's title, one line in the manager's words of what it answers, and its scope."""
    st.title(title)
    st.markdown(explanation)
    st.caption(scope(view, selection))


def estimated_note(estimated: bool) -> None:
    if estimated:
        st.caption(
            "Visitors and occupancy are estimates of people: many phones change their Wi-Fi address, and "
            "footfall links the addresses of one phone into one estimated visitor, so counts can be a little off."
        )


def suppression_note(k: int) -> None:
    if k > 1:
        st.caption(
            f"Privacy: a count below {k} is never published; it shows as “< {k}” (in charts a grey mark on the "
            f"baseline, never a bar), a total that includes such cells as the range it must lie in, and a rate or "
            f"dwell time that needs them as “too few”."
        )


def incomplete_days(days: pd.DataFrame, selection: Selection) -> dict[date, str]:
    """Per date of the totals (a DAYS result indexed by date), which selected stores have
    no data ("no data from north"), for the days some but not all of them have."""
    flagged = {}
    for day, row in days.iterrows():
        note = figures.missing_stores(row.get("stores_with_data"), selection.stores)
        if note:
            flagged[day] = note
    return flagged


def download(frame: pd.DataFrame, page: str, selection: Selection) -> None:
    """A CSV of what the page shows, as it shows it ("< 5", ranges, "no data")."""
    stores = "-".join(selection.stores) if len(selection.stores) <= 3 else f"{len(selection.stores)}-stores"
    name = f"footfall-{page}-{stores}-{selection.start}-to-{selection.end}.csv"
    st.download_button(
        "Download this page (CSV)",
        frame.to_csv(index=False).encode("utf-8"),
        file_name=name,
        mime="text/csv",
        key=f"download-{page}",
    )


def opening_hours(view: View, stores: tuple[str, ...]) -> list[int] | None:
    """The local hours any of the stores is open (from opening_hours); None when a store
    does not set its hours (then every hour may matter)."""
    hours: list[int] = []
    for store in stores:
        text = view.settings.store(store).opening_hours
        if not text:
            return None
        opening, closing = parse_opening_hours(text)
        hour = opening.hour
        last = (closing.hour - (1 if closing.minute == 0 else 0)) % 24
        while True:
            if hour not in hours:
                hours.append(hour)
            if hour == last:
                break
            hour = (hour + 1) % 24
    return sorted(hours) if hours else None


def hours_shown(view: View, selection: Selection, key: str) -> list[int]:
    """The local hours an hourly view shows: the opening hours by default, every hour
    when the toggle says so (or when no store sets its hours)."""
    hours = opening_hours(view, selection.stores)
    if hours is None:
        st.caption("All 24 hours (set opening_hours for every selected store to see the opening hours first).")
        return list(range(24))
    span = f"{hours[0]:02d}:00{display.DASH}{(hours[-1] + 1) % 24:02d}:00"
    every = st.toggle(f"All 24 hours (default: the opening hours, {span})", key=key)
    return list(range(24)) if every else hours
