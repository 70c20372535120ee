"""Widgets shared by the pages: the sidebar filters (fixed keys, so they survive page
switches) and the segment pickers of the comparison."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cxdata.analysis.compare import Segment
from cxdata.analysis.filters import Filters
from cxdata.app import data
from cxdata.store import Store

FILTER_COLUMNS = {
    "study": "Study",
    "channel": "Channel",
    "observer": "Observer",
    "method": "Method",
}


def sidebar_filters(s: Store) -> Filters:
    """Filter widgets in the sidebar (fixed keys, so they survive page switches); the
    resulting Filters are kept in the session for the pages."""
    opts = data.options(str(s.path), data.data_version())
    with st.sidebar:
        st.header("Filters")
        columns = {
            col: st.multiselect(label, opts.columns[col], key=f"filter_{col}")
            for col, label in FILTER_COLUMNS.items()
        }
        date_from = date_to = None
        if opts.dates:
            lo, hi = opts.dates
            picked = st.date_input(
                "Observed between", value=(lo, hi), min_value=lo, max_value=hi, key="filter_dates"
            )
            if isinstance(picked, tuple) and len(picked) == 2 and picked != (lo, hi):
                date_from, date_to = picked
        attributes: dict[str, list[str]] = {}
        names = list(opts.attributes)
        name = st.selectbox(
            "Customer attribute",
            [None, *names],
            key="filter_attribute",
            format_func=lambda n: "(any)" if n is None else n,
        )
        if name:
            attributes[name] = st.multiselect(
                f"{name} is one of", opts.attributes[name], key="filter_attribute_values"
            )
    filters = Filters.build(columns, attributes, date_from, date_to)
    st.session_state["filters"] = filters
    return filters


def current_filters() -> Filters:
    """The sidebar's filters for this session (set by the router on every run)."""
    value = st.session_state.get("filters")
    return value if isinstance(value, Filters) else Filters()


def persona_labels(personas: pd.DataFrame) -> dict[int, str]:
    """Persona number -> how the picker shows it: the name, and the number too when another
    persona has the same name (so two personas never collapse into one entry)."""
    names = {
        int(n): str(name) for n, name in zip(personas["persona"], personas["name"], strict=True)
    }
    shared = pd.Series([name.casefold() for name in names.values()]).duplicated(keep=False)
    return {
        number: f"{name} (persona {number})" if twin else name
        for (number, name), twin in zip(names.items(), shared, strict=True)
    }


def segment_picker(key: str, title: str, allow_rest: bool) -> tuple[Segment | None, str]:
    """Widgets for one segment: a persona, values of one or two attributes (any of the values
    of each, both attributes), or everyone else (with or without unknown values)."""
    db, version = str(data.store().path), data.data_version()
    opts = data.options(db, version)
    personas = data.persona_names(db, version)
    kinds = (["everyone else"] if allow_rest else []) + (["persona"] if len(personas) else [])
    kinds.append("attribute values")
    st.markdown(f"**{title}**")
    kind = st.radio(
        "Who", kinds, key=f"compare_{key}_kind", horizontal=True, label_visibility="collapsed"
    )
    if kind == "everyone else":
        unknown = st.checkbox(
            "Include customers whose value is unknown",
            key=f"compare_{key}_unknown",
            help="Off: everyone known not to be in A. On: also customers without a value for "
            "A's columns (or without a persona).",
        )
        segment = Segment(rest=True, include_unknown=unknown)
        return segment, segment.label()
    if kind == "persona":
        labels = persona_labels(personas)
        number = st.selectbox(
            "Persona", list(labels), key=f"compare_{key}_persona", format_func=labels.__getitem__
        )
        return Segment((("persona", str(number)),)), f"{labels[number]} customers"
    conditions: list[tuple[str, str | tuple[str, ...]]] = []
    for i in range(2):
        cols = st.columns(2)
        choices = [None, *opts.attributes] if i else list(opts.attributes)
        name = cols[0].selectbox("Attribute" if not i else "and attribute", choices,
                                 key=f"compare_{key}_attr_{i}")  # fmt: skip
        if name:
            chosen = cols[1].multiselect(
                "is any of", opts.attributes[name], key=f"compare_{key}_vals_{i}",
                default=list(opts.attributes[name])[:1],
            )  # fmt: skip
            values = tuple(str(v) for v in chosen)
            if values:
                conditions.append((name, values[0] if len(values) == 1 else values))
    if not conditions:
        return None, ""
    segment = Segment(tuple(conditions))
    return segment, segment.label()
