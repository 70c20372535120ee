"""Header detection (English, German, accents), mapping files, wide survey conversion."""

from __future__ import annotations

import pytest

from cxdata.ingest import IngestError, Mapping, ingest_file, load_mapping
from cxdata.ingest.mapping import detect_columns, normalise


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            [
                "Customer ID",
                "Journey Stage",
                "Touchpoint",
                "Channel",
                "Rating",
                "Date",
                "Observer",
                "Method",
                "Comment",
                "Study",
                "Observation ID",
                "Interaction",
                "Age band",
            ],
            [
                "customer_id",
                "stage",
                "touchpoint",
                "channel",
                "score",
                "observed_at",
                "observer",
                "method",
                "note",
                "study",
                "observation_id",
                "interaction",
                None,
            ],
        ),
        (
            [
                "Kundennummer",
                "Phase",
                "Berührungspunkt",
                "Kanal",
                "Bewertung",
                "Zeitpunkt",
                "Beobachter",
                "Methode",
                "Notiz",
                "Studie",
                "Beobachtungs-ID",
                "Interaktion",
            ],
            [
                "customer_id",
                "stage",
                "touchpoint",
                "channel",
                "score",
                "observed_at",
                "observer",
                "method",
                "note",
                "study",
                "observation_id",
                "interaction",
            ],
        ),
        (
            ["KUNDEN-ID", "etappe", "BERUEHRUNGSPUNKT", "Punktzahl", "Datum", "Bemerkung"],
            ["customer_id", "stage", None, "score", "observed_at", "note"],
        ),
        (
            ["kunde", "Stufe", "Kontaktpunkt", "score", "Kommentar"],
            ["customer_id", "stage", "touchpoint", "score", "note"],
        ),
    ],
)
def test_detects_english_and_german_headers(headers, expected):
    found = {v: k for k, v in detect_columns(headers, Mapping(), "f.csv").items()}
    assert [found.get(h) for h in headers] == expected


def test_normalise_is_case_accent_and_punctuation_insensitive():
    assert normalise("Berührungs-Punkt") == normalise("BERUHRUNGSPUNKT") == "beruhrungspunkt"
    assert normalise("Straße") == "strasse"


def test_two_candidates_for_one_column_is_an_error_naming_both():
    with pytest.raises(IngestError) as err:
        detect_columns(["Kunde", "Kundennummer", "Phase", "Score"], Mapping(), "f.csv")
    (problem,) = err.value.problems
    assert problem.column == "Kunde, Kundennummer"
    assert "customer_id" in problem.reason


def test_mapping_file_overrides_and_completes_detection(store, write):
    mapping = load_mapping(
        write(
            "m.toml",
            '[columns]\ncustomer_id = "Kundennummer"\nscore = "Note (-3..3)"\n'
            '[stages]\norder = ["Kauf", "Lieferung"]\n',
        )
    )
    path = write("noten.csv", "Kunde,Kundennummer,Phase,Note (-3..3)\nAnna,K1,Kauf,2\n")
    result = ingest_file(store, path, mapping=mapping)
    assert result.columns == {
        "customer_id": "Kundennummer",
        "score": "Note (-3..3)",
        "stage": "Phase",
    }
    assert result.extras == {"Kunde": "VARCHAR"}
    assert store.query_df("SELECT customer_id, score FROM observations").values.tolist() == [
        ["K1", 2.0]
    ]


def test_mapped_header_missing_from_file(store, write):
    mapping = Mapping(columns={"customer_id": "Kundennr."})
    with pytest.raises(IngestError) as err:
        ingest_file(store, write("a.csv", "Kunde,Phase,Score\nA,B,1\n"), mapping=mapping)
    assert err.value.problems[0].column == "Kundennr."
    assert "not in the file" in err.value.problems[0].reason


def test_broken_mapping_files_name_the_key(write):
    with pytest.raises(IngestError) as err:
        load_mapping(write("bad.toml", '[columns]\nkunde = "X"\n[wide]\nscale = [5, 1]\n'))
    keys = {p.column for p in err.value.problems}
    assert keys == {"columns.kunde", "wide.scale", "wide.items"}
    with pytest.raises(IngestError) as err:
        load_mapping(write("syntax.toml", "[columns\n"))
    assert "not valid TOML" in err.value.problems[0].reason


WIDE_MAPPING = """
[columns]
customer_id = "Respondent"
[wide]
scale = [1, 5]
not_applicable = [0, "n/a"]
[wide.items]
"Q1 Website" = { stage = "Consideration", touchpoint = "Website" }
"Q2 Delivery" = { stage = "Delivery", touchpoint = "Home delivery" }
[outcomes]
nps = { column = "Recommend" }
satisfied = { column = "Satisfied?", positive = ["Yes"] }
"""


def test_wide_survey_becomes_one_observation_per_rating(store, write):
    mapping = load_mapping(write("w.toml", WIDE_MAPPING))
    path = write(
        "survey.csv",
        "Respondent,Region,Q1 Website,Q2 Delivery,Recommend,Satisfied?\n"
        "R1,North,1,5,9,yes\n"
        "R2,South,0,2,3,no\n"  # Q1 not applicable
        "R3,South,4,,7,Yes\n"  # Q2 blank: not answered
        "R4,East,n/a,3,,\n",
    )
    result = ingest_file(store, path, mapping=mapping, study="Post-purchase survey")
    assert result.rows == 5
    got = store.query_df(
        "SELECT customer_id, stage, touchpoint, score, source_row, study FROM observations "
        "ORDER BY source_row, stage"
    )
    assert got.values.tolist() == [
        ["R1", "Consideration", "Website", -3.0, 2, "Post-purchase survey"],
        ["R1", "Delivery", "Home delivery", 3.0, 2, "Post-purchase survey"],
        ["R2", "Delivery", "Home delivery", -1.5, 3, "Post-purchase survey"],
        ["R3", "Consideration", "Website", 1.5, 4, "Post-purchase survey"],
        ["R4", "Delivery", "Home delivery", 0.0, 5, "Post-purchase survey"],
    ]
    outcomes = store.query_df(
        "SELECT customer_id, name, value, number FROM customer_attributes "
        "WHERE kind = 'outcome' ORDER BY name, customer_id"
    )
    assert outcomes.values.tolist() == [
        ["R1", "nps", "9", 9.0],
        ["R2", "nps", "3", 3.0],
        ["R3", "nps", "7", 7.0],
        ["R1", "satisfied", "yes", 1.0],
        ["R2", "satisfied", "no", 0.0],
        ["R3", "satisfied", "Yes", 1.0],
    ]
    region = store.query_df("SELECT value FROM customer_attributes WHERE name = 'Region'")
    assert sorted(region["value"]) == ["East", "North", "South", "South"]


def test_wide_ratings_outside_scale_or_not_numbers(store, write):
    mapping = load_mapping(write("w.toml", WIDE_MAPPING))
    path = write(
        "survey.csv",
        "Respondent,Q1 Website,Q2 Delivery,Recommend,Satisfied?\n"
        "R1,6,3,1,no\nR2,gut,2,1,no\nR3,2,-1,1,no\n",
    )
    with pytest.raises(IngestError) as err:
        ingest_file(store, path, mapping=mapping)
    assert [(p.row, p.column, p.value, p.reason) for p in err.value.problems] == [
        (2, "Q1 Website", "6", "rating is outside the scale 1..5"),
        (3, "Q1 Website", "gut", "rating is not a number nor a not-applicable code"),
        (4, "Q2 Delivery", "-1", "rating is outside the scale 1..5"),
    ]


def test_wide_item_missing_from_file(store, write):
    mapping = load_mapping(write("w.toml", WIDE_MAPPING))
    with pytest.raises(IngestError) as err:
        ingest_file(
            store, write("s.csv", "Respondent,Q1 Website,Recommend\nR1,3,8\n"), mapping=mapping
        )
    assert [(p.column, p.reason) for p in err.value.problems] == [
        ("Q2 Delivery", "wide item column not in the file"),
        ("Satisfied?", "outcome satisfied: column not in the file"),
    ]


def test_attributes_can_be_renamed(store, write):
    mapping = load_mapping(write("m.toml", '[attributes]\nloyalty_tier = "Kundenstatus"\n'))
    path = write("de.csv", "Kunde;Phase;Bewertung;Kundenstatus;Region\nK1;Usage;1;Gold;Nord\n")
    ingest_file(store, path, mapping=mapping)
    stored = store.query_df("SELECT name, value FROM customer_attributes ORDER BY name")
    assert stored.values.tolist() == [["Region", "Nord"], ["loyalty_tier", "Gold"]]
    with pytest.raises(IngestError) as err:
        ingest_file(store, write("x.csv", "Kunde;Phase;Bewertung\nK2;Usage;1\n"), mapping=mapping)
    assert [(p.column, p.reason) for p in err.value.problems] == [
        ("Kundenstatus", "attribute loyalty_tier: column not in the file")
    ]
