"""The sample data keeps its promises: shape, consistency, planted truth, freshness."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxdata import sample
from cxdata.sample import (
    DATA_FILES,
    HOME_DELIVERY,
    IRRELEVANT,
    PERSONAS,
    SAMPLE_DIR,
    STAGES,
    TRUTH_FILE,
    generate,
    long_frame,
    mapping_for,
    synthetic,
    write_sample,
)

TEXT_SUFFIXES = {".csv", ".toml", ".md"}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate()


@pytest.fixture(scope="module")
def long(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return long_frame(tables)


@pytest.fixture(scope="module")
def truth(tables: dict[str, pd.DataFrame]) -> pd.Series:
    return tables[TRUTH_FILE].set_index("customer_id")["persona"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out)
    return out


def _files(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_file()}


def test_generate_is_deterministic(tables: dict[str, pd.DataFrame]) -> None:
    again = generate()
    assert list(again) == list(tables)
    for name, df in tables.items():
        pd.testing.assert_frame_equal(again[name], df, obj=name)
    other = generate(seed=8)
    assert not other[TRUTH_FILE].equals(tables[TRUTH_FILE])


def test_tables_are_the_files(tables: dict[str, pd.DataFrame]) -> None:
    assert list(tables) == [*DATA_FILES, TRUTH_FILE]


def test_counts(long: pd.DataFrame, truth: pd.Series) -> None:
    assert long["customer_id"].nunique() >= 2000
    assert set(long["customer_id"]) == set(truth.index)
    assert set(long["stage"]) == set(STAGES)
    assert long["touchpoint"].nunique() >= 20
    assert 4 <= long["channel"].nunique() <= 5
    assert 2 <= long["study"].nunique() <= 3
    assert set(truth) == {p.name for p in PERSONAS}


def test_customers_span_one_or_two_studies_and_most_stages(long: pd.DataFrame) -> None:
    per_customer = long.groupby("customer_id")
    assert per_customer["study"].nunique().between(1, 2).all()
    assert per_customer["stage"].nunique().between(5, 6).all()
    per_stage = long.groupby(["customer_id", "stage"]).size()
    assert per_stage.between(1, 3).all()


def test_observation_ids_unique_across_files(long: pd.DataFrame) -> None:
    assert long["observation_id"].notna().all()
    assert long["observation_id"].is_unique


def test_scores_are_integers_on_the_graded_scale(tables: dict[str, pd.DataFrame]) -> None:
    for name, col in zip(DATA_FILES[:3], ["score", "Bewertung", "score"], strict=True):
        scores = tables[name][col]
        assert pd.api.types.is_integer_dtype(scores), name
        assert scores.between(-3, 3).all(), name


def test_observed_at_is_iso_and_in_the_study_period(long: pd.DataFrame) -> None:
    stamps = pd.to_datetime(long["observed_at"], format="%Y-%m-%dT%H:%M:%S")
    assert stamps.min() >= pd.Timestamp("2026-01-01")
    assert stamps.max() <= pd.Timestamp("2026-09-30 23:59")
    order = {s: i for i, s in enumerate(STAGES)}
    ranked = long.assign(t=stamps, k=long["stage"].map(order)).sort_values(["customer_id", "t"])
    assert (ranked.groupby("customer_id")["k"].diff().dropna() >= 0).all()


def test_attributes_identical_on_every_row_of_a_customer(
    tables: dict[str, pd.DataFrame], long: pd.DataFrame
) -> None:
    attrs = ["age_band", "region", "loyalty_tier", "nps", "satisfied", "repurchase"]
    assert long[attrs].notna().all().all()
    assert (long.groupby("customer_id")[attrs].nunique() == 1).all().all()
    first = long.groupby("customer_id")[["region", "nps"]].first()
    survey = tables["survey_wide.csv"].set_index("Respondent")
    assert (survey["Region"] == first.loc[survey.index, "region"]).all()
    assert (survey["Recommend (0-10)"] == first.loc[survey.index, "nps"]).all()


def test_german_file_is_german(written: Path, tables: dict[str, pd.DataFrame]) -> None:
    raw = (written / "ecommerce_sessions_de.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfBeobachtungs-ID;")
    de = tables["ecommerce_sessions_de.csv"]
    for header in ("Kundennummer", "Phase", "Kontaktpunkt", "Kanal", "Bewertung", "Zeitpunkt"):
        assert header in de.columns
    assert set(de["Phase"]) == set(STAGES)
    assert set(de["Zufrieden"]) | set(de["Wiederkauf"]) == {"ja", "nein"}


def test_parquet_has_proper_types(written: Path) -> None:
    df = pd.read_parquet(written / "call_centre_calls.parquet")
    assert pd.api.types.is_integer_dtype(df["score"])
    assert pd.api.types.is_datetime64_any_dtype(df["observed_at"])
    assert set(df["channel"]) == {"phone"}


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_planted_stage_verdicts(long: pd.DataFrame, truth: pd.Series, persona) -> None:
    sums = long.groupby(["customer_id", "stage"])["score"].sum().reset_index()
    mine = sums[sums["customer_id"].map(truth) == persona.name]
    net = np.sign(mine["score"]).groupby(mine["stage"]).mean()
    assert persona.delight or persona.disappoint
    for stage in persona.delight:
        assert net[stage] >= 0.4, (stage, net[stage])
    for stage in persona.disappoint:
        assert net[stage] <= -0.4, (stage, net[stage])


def test_nps_driven_by_home_delivery_not_chatbot(long: pd.DataFrame) -> None:
    per_tp = long.groupby(["customer_id", "touchpoint"])["score"].mean().unstack()
    nps = long.groupby("customer_id")["nps"].first()
    satisfied = (long.groupby("customer_id")["satisfied"].first() == "yes").astype(float)
    assert per_tp[HOME_DELIVERY].notna().sum() >= 500
    assert per_tp[IRRELEVANT].notna().sum() >= 500
    assert nps.corr(per_tp[HOME_DELIVERY], method="spearman") > 0.5
    assert abs(nps.corr(per_tp[IRRELEVANT], method="spearman")) < 0.1
    assert abs(satisfied.corr(per_tp[IRRELEVANT], method="spearman")) < 0.1
    # Both are poor performers: that is what makes the priority question interesting.
    means = long.groupby("touchpoint")["score"].mean()
    assert means[HOME_DELIVERY] < -0.5 and means[IRRELEVANT] < -0.5
    assert nps.between(0, 10).all()
    assert ((nps >= 7) == (satisfied == 1)).mean() > 0.85


def test_within_a_persona_only_home_delivery_relates_to_nps(
    long: pd.DataFrame, truth: pd.Series
) -> None:
    """Raw correlations of other touchpoints with NPS are persona confounding, nothing more."""
    per_tp = long.groupby(["customer_id", "touchpoint"])["score"].mean().unstack()
    ranks = per_tp.rank().assign(nps=long.groupby("customer_id")["nps"].first().rank())
    resid = ranks - ranks.groupby(truth.loc[ranks.index]).transform("mean")
    within = resid.drop(columns="nps").corrwith(resid["nps"])
    assert within[HOME_DELIVERY] > 0.5
    others = within.drop(HOME_DELIVERY)[per_tp.notna().sum() >= 150]
    assert len(others) >= 20
    assert others.abs().max() < 0.15, others.abs().idxmax()


def test_survey_matches_its_mapping_and_the_personas(
    written: Path, tables: dict[str, pd.DataFrame], truth: pd.Series
) -> None:
    mapping = tomllib.loads((written / "survey_wide.mapping.toml").read_text("utf-8"))
    survey = tables["survey_wide.csv"]
    assert mapping["columns"] == {"customer_id": "Respondent"}
    assert mapping["wide"]["scale"] == [1, 5] and mapping["wide"]["not_applicable"] == [0]
    assert mapping["outcomes"]["nps"]["column"] in survey.columns
    items = mapping["wide"]["items"]
    assert 6 <= len(items) <= 10
    assert len({spec["stage"] for spec in items.values()}) >= 4
    assert set(items) <= set(survey.columns)
    assert survey["Respondent"].is_unique and set(survey["Respondent"]) <= set(truth.index)
    for column, spec in items.items():
        assert spec["stage"] in STAGES
        assert survey[column].between(0, 5).all()
        assert (survey[column] == 0).any(), f"{column} has no 'not applicable' answers"
    # Converted scores carry the planted persona effects.
    persona = survey["Respondent"].map(truth)
    checked = 0
    for column, spec in items.items():
        if spec["touchpoint"] in (HOME_DELIVERY, IRRELEVANT):
            continue
        score = (survey[column].where(survey[column] > 0) - 3) * 1.5
        for p in PERSONAS:
            mine = score[persona == p.name].dropna()
            if len(mine) < 20:
                continue
            if spec["stage"] in p.delight:
                assert mine.mean() > 0.5, (column, p.name)
                checked += 1
            if spec["stage"] in p.disappoint:
                assert mine.mean() < -0.5, (column, p.name)
                checked += 1
    assert checked >= 5
    home = (survey["Q5 Delivery speed"].where(survey["Q5 Delivery speed"] > 0) - 3) * 1.5
    assert survey["Recommend (0-10)"].corr(home, method="spearman") > 0.5


def test_german_mapping_maps_no_canonical_column(written: Path) -> None:
    """The German headers must be detected; the mapping only names outcomes, renames
    attributes to the English names of the other studies, and orders the stages."""
    mapping = tomllib.loads((written / "ecommerce_sessions_de.mapping.toml").read_text("utf-8"))
    assert set(mapping) == {"outcomes", "attributes", "stages"}
    assert mapping["attributes"]["loyalty_tier"] == "Kundenstatus"
    assert mapping["stages"]["order"] == list(STAGES)
    assert mapping["outcomes"]["satisfied"] == {"column": "Zufrieden", "positive": ["ja"]}


def test_write_sample_is_byte_identical_and_small(written: Path, tmp_path: Path) -> None:
    paths = write_sample(tmp_path)
    assert [p.name for p in paths] == DATA_FILES
    first, second = _files(written), _files(tmp_path)
    assert set(first) == {*DATA_FILES, TRUTH_FILE, "README.md", "framework.toml"} | {
        "survey_wide.mapping.toml",
        "ecommerce_sessions_de.mapping.toml",
        "retail_store_visits.mapping.toml",
        "call_centre_calls.mapping.toml",
    }
    assert list(first) == list(second)
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    assert sum(p.stat().st_size for p in first.values()) < 5 * 1024 * 1024


def test_committed_sample_data_is_fresh(written: Path) -> None:
    hint = 'regenerate: python -c "from cxdata.sample import write_sample, SAMPLE_DIR; ' \
        'write_sample(SAMPLE_DIR)"'  # fmt: skip
    fresh, committed = _files(written), _files(SAMPLE_DIR)
    missing = set(fresh) - set(committed)
    assert not missing, f"sample_data/ lacks {sorted(missing)}; {hint}"
    for name, path in fresh.items():
        if path.suffix == ".parquet":  # bytes embed library versions; compare the content
            pd.testing.assert_frame_equal(
                pd.read_parquet(committed[name]), pd.read_parquet(path), obj=name
            )
        else:
            assert committed[name].read_bytes() == path.read_bytes(), f"{name} is stale; {hint}"


def test_mapping_for(written: Path) -> None:
    assert mapping_for(written / "survey_wide.csv") == written / "survey_wide.mapping.toml"
    german = written / "ecommerce_sessions_de.csv"
    assert mapping_for(german) == written / "ecommerce_sessions_de.mapping.toml"
    assert mapping_for(written / "planted_truth.csv") is None


def test_sample_dir_is_the_repo_folder() -> None:
    expected = Path(sample.__file__).resolve().parents[2] / "sample_data"
    assert expected == SAMPLE_DIR


def test_personas_are_recoverable_by_clustering(long: pd.DataFrame, truth: pd.Series) -> None:
    """Per-customer features (stage sums and counts, channel shares, attributes) -> ARI >= 0.9."""
    cluster = pytest.importorskip("sklearn.cluster")
    metrics = pytest.importorskip("sklearn.metrics")
    sums = long.pivot_table("score", "customer_id", "stage", aggfunc="sum", fill_value=0)
    counts = long.pivot_table("score", "customer_id", "stage", aggfunc="count", fill_value=0)
    channels = pd.crosstab(long["customer_id"], long["channel"], normalize="index")
    attrs = long.groupby("customer_id")[["age_band", "loyalty_tier"]].first()
    ordinal = pd.DataFrame(
        {
            "age": attrs["age_band"].map({a: i for i, a in enumerate(synthetic.AGE_BANDS)}),
            "tier": attrs["loyalty_tier"].map({t: i for i, t in enumerate(synthetic.TIERS)}),
        }
    )
    features = pd.concat(
        [sums.add_prefix("sum_"), counts.add_prefix("n_"), channels, ordinal], axis=1
    )
    z = (features - features.mean()) / features.std()
    labels = cluster.KMeans(len(PERSONAS), n_init=10, random_state=0).fit_predict(z.to_numpy())
    ari = metrics.adjusted_rand_score(truth.loc[features.index], labels)
    assert ari >= 0.9, ari
