"""Personas: find data-driven personas, see how many there are and why, recognise and name them."""

import streamlit as st

from cxdata.app import actions, data, signin, views, widgets
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.charts import heatmap, persona_diagnostics, persona_stage_row
from cxdata.display.downloads import caption_text
from cxdata.display.outcome_tables import interval_text, kpi_label, kpi_text
from cxdata.display.persona_text import relative_line, typical_lines
from cxdata.display.tables import persona_table
from cxdata.personas.gaps import GAP_RULES

STALE = (
    "The persona model is older than the data: batches were added or removed since it was "
    "fitted. Find personas again to include them."
)
METHODS = {
    "kmeans": "k-means",
    "gmm": "Gaussian mixture",
    "agglomerative": "Agglomerative (Ward, up to 20,000 customers)",
}
GAPS = {
    "auto": "Decide from the data",
    "not_rated": "Not rated (surveys)",
    "not_observed": "Not gone through (logs)",
}

principal = signin.guard(Action.VIEW_PERSONAS)
store = data.store()
db, version = str(store.path), data.data_version()
filters = widgets.current_filters()
model, stale = data.personas(db, version)


def find_personas() -> None:
    """The discovery form; a fit stores a new model and shows it."""
    with st.form("personas_form", border=True):
        c1, c2, c3, c4 = st.columns([1, 2, 2, 1])
        k = c1.selectbox(
            "Personas (k)",
            ["auto", *range(2, 13)],
            key="personas_k",
            help="auto: the most reproducible number within the range",
        )
        lo, hi = c2.slider(
            "Range tried when auto", 2, 12, (3, 8), key="personas_k_range", help="k from .. to"
        )
        method = c3.selectbox(
            "Method", list(METHODS), format_func=METHODS.__getitem__, key="personas_method"
        )
        seed = c4.number_input("Seed", min_value=0, value=0, step=1, key="personas_seed")
        gaps = st.selectbox(
            "A missing stage means",
            list(GAPS),
            format_func=GAPS.__getitem__,
            key="personas_gaps",
            help=" · ".join(f"{GAPS[r]}: {text}" for r, text in GAP_RULES.items()),
        )
        submitted = st.form_submit_button("Find personas", type="primary", key="personas_find")
    if not submitted:
        return
    from cxdata.personas.estimator import PersonaSettings  # scikit-learn loads on first use

    settings = PersonaSettings(
        k=None if k == "auto" else int(k),
        k_range=(lo, hi),
        method=method,
        seed=int(seed),
        gaps=gaps,
    )
    bar = st.progress(0.0, "Finding personas…")
    found = actions.fit_personas(
        principal, store, settings, progress=lambda f, m: bar.progress(min(f, 1.0), m)
    )
    bar.empty()
    st.session_state["personas_flash"] = f"Found {found.k} personas (model {found.model_id})."
    st.rerun()  # the data version covers persona models: the page now shows the new one


def sd_text(std_diff: float) -> str:
    arrow, word = ("↑", "higher") if std_diff > 0 else ("↓", "lower")
    return f"{arrow} {word}, {std_diff:+.1f} sd".replace("-", "−")


def value_text(feature: str, value: float) -> str:
    """Shares as percentages, scores and counts as numbers."""
    if feature.startswith("channel__") or "=" in feature:
        return f"{value:.0%}"
    return f"{value:.1f}".replace("-", "−")


def rename_persona(model_id: int, persona: int, current: str) -> None:
    key = f"persona_name_{model_id}_{persona}"
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    new = left.text_input("Name", value=current, key=key, max_chars=80)
    if right.button("Rename", key=f"persona_rename_{model_id}_{persona}"):
        new = (new or "").strip()
        actions.rename_persona(principal, store, model_id, persona, new)
        st.session_state["personas_flash"] = f"Persona {persona} is now called “{md(new)}”."
        st.rerun()


st.title("Personas")
if flash := st.session_state.pop("personas_flash", None):
    st.success(flash)

if model is None:
    st.info(
        "No persona model yet. Personas group customers by how they experience each stage, "
        "which channels they use and their attributes. Choose the settings (the defaults "
        "suit most data) and press Find personas."
    )
    find_personas()
    st.stop()

created = f"{model.created_at:%Y-%m-%d %H:%M}" if model.created_at is not None else "unknown"
rule = model.settings.get("gaps")  # models fitted before the rule existed have none
rule_text = f" · a missing stage means: {GAPS[rule]}" if rule in GAPS else ""
st.caption(f"Model {model.model_id} · created {created} · k = {model.k} personas{rule_text}")
st.markdown(model.explanation)
if stale:
    st.warning(STALE)
    with st.expander("Find personas again (a new model)", expanded=True):
        find_personas()

diagnostics = persona_diagnostics(model.diagnostics, model.k)
st.altair_chart(diagnostics)
fitted_on = sum(int(p["size"]) for p in model.profiles)
views.downloads(
    diagnostics,
    model.diagnostics,
    f"persona_diagnostics_model_{model.model_id}",
    caption_text(
        f"none (model {model.model_id} is fitted on every customer)",
        f"n = {fitted_on:,} customers",
    ),
)
st.caption(
    "Stability: how well the personas come back when the model is refitted on resampled "
    "customers (1 = always the same). Silhouette: how clearly customers are separated "
    "(higher is better, rarely above 0.5 on survey-like data)."
)
if "gap_ami" in model.diagnostics:
    per_k = " · ".join(
        f"k = {int(r.k)}: {r.gap_ami:.2f}" for r in model.diagnostics.itertuples(index=False)
    )
    st.caption(
        "Do the personas follow which items were rated? Adjusted mutual information between "
        f"the personas and the pattern of rated items (0 = unrelated, 1 = the same): {per_k}."
    )

st.subheader(f"The {model.k} personas")
st.caption(
    "Stage rows: net experience per stage (delighted share − disappointed share), red = "
    "disappointment, blue = delight, on the same fixed scale as the Journey heatmaps; "
    f"* marks cells with fewer than {store.settings.min_customers} customers. "
    f"Filters: {filters.describe()}."
)
by_persona = data.scores(db, version, ("persona",), filters)
persona_kpis = data.outcomes(db, version, "persona", filters)  # kinds from values, with CIs
stages = list(data.scores(db, version, (), filters)["stage"])
columns = st.columns(2)
for i, profile in enumerate(model.profiles):
    with columns[i % 2].container(border=True):
        st.markdown(f"**{md(profile['name'])}**")
        st.caption(
            f"Persona {profile['persona']} · {profile['size']:,} customers · {profile['share']:.0%}"
        )
        row = by_persona[by_persona["persona"] == profile["name"]]
        if row.empty:
            st.caption("No observations of this persona match the filters.")
        else:
            st.altair_chart(persona_stage_row(row, stages), width="stretch")
        lines = [
            f"- {md(d['label'])}: {sd_text(d['std_diff'])} "
            f"({value_text(d['feature'], d['persona'])} vs {value_text(d['feature'], d['overall'])}"
            " overall" + (f", of the {d['known']:,} with a known value)" if "known" in d else ")")
            for d in profile["distinguishing"]
        ]
        st.markdown("**What sets them apart**\n" + ("\n".join(lines) or "- nothing stands out"))
        typical = profile["typical"]
        typical_values, sparse_values = typical_lines(typical["attributes"])
        attributes = "; ".join(md(line) for line in typical_values)
        sparse = ", ".join(md(line) for line in sparse_values)
        relative = relative_line(profile.get("relative", {}))
        channels = ", ".join(
            f"{md(c)} {share:.0%}"
            for c, share in list(typical["channels"].items())[:3]
            if share >= 0.005  # shown as at least 1%
        )
        mine = persona_kpis[persona_kpis["persona"] == profile["name"]].to_dict("records")
        outcomes = " · ".join(f"{kpi_label(k)} {kpi_text(k)} ({interval_text(k)})" for k in mine)
        details = [
            f"**Compared with their own average:** {md(relative)}" if relative else "",
            f"**Typical:** {attributes}" if attributes else "",
            f"**Known for too few to call typical:** {sparse}" if sparse else "",
            f"**Channels:** {channels}" if channels else "",
            f"**Outcomes:** {md(outcomes)}" if outcomes else "",
        ]
        st.markdown("  \n".join(d for d in details if d))
        rename_persona(model.model_id, profile["persona"], profile["name"])

if not by_persona.empty:
    cfg = store.settings
    rows = heatmap(by_persona, "persona", "Persona", stages,
                   f"Which stages delight or disappoint which persona? (model {model.model_id})",
                   cfg.delight_threshold, cfg.disappointment_threshold,
                   [p["name"] for p in model.profiles])  # fmt: skip
    counts = data.totals(db, version, filters)
    st.markdown("**All personas' stage rows as one chart**")
    views.downloads(
        rows,
        by_persona,
        f"personas_by_stage_model_{model.model_id}",
        caption_text(
            filters.describe(),
            f"n = {counts['customers']:,} customers, {counts['observations']:,} observations",
        ),
    )
views.csv_download(
    "Persona profiles (CSV)",
    lambda: persona_table(model),
    f"personas_model_{model.model_id}.csv",
    key="personas_csv",
)

if not stale:
    with st.expander("Find personas again (a new model)"):
        find_personas()
