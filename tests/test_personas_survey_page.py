"""AppTest of the Personas page on a wide survey: the gap rule in the settings, the gap
diagnostic per k, and the same profile lines (bases, relatively best and worst stage) the
CLI prints."""

from __future__ import annotations

from cxdata.config import Settings
from cxdata.display.persona_text import relative_line, typical_lines
from cxdata.ingest import ingest_file
from cxdata.ingest.mapping import load_mapping
from cxdata.personas.models import latest_model
from cxdata.store import Store
from tests.conftest import shown, start_app
from tests.survey_personas import survey, with_gaps, write_survey


def test_survey_personas_on_the_page(app_db, monkeypatch, tmp_path):
    monkeypatch.setenv("CXDATA_AUTO_PERSONAS", "false")  # the page's own fit, with settings
    planted = survey(n=600, seed=1)
    csv, mapping = write_survey(tmp_path / "in", with_gaps(planted.ratings, seed=2))
    ingest_file(Store.open(Settings(), app_db), csv, mapping=load_mapping(mapping))
    at = start_app("app_pages/personas.py", 180)
    assert at.selectbox(key="personas_gaps").value == "auto"
    at.selectbox(key="personas_k").set_value(4)
    at.selectbox(key="personas_gaps").set_value("not_rated")
    at.button(key="personas_find").click().run()
    assert not at.exception, at.exception

    model = latest_model(Store.open(Settings(), app_db))
    assert model is not None and model.settings["gaps"] == "not_rated"
    text = "\n".join(shown(m.value) for m in at.markdown)
    captions = [c.value for c in at.caption]
    assert model.explanation in text and "Not rated is no feature" in model.explanation
    assert "so a gap weighs nothing" in model.explanation  # k-means over the rated values
    assert any(
        c.endswith("personas · a missing stage means: Not rated (surveys)") for c in captions
    )
    ami = model.diagnostics.set_index("k").loc[4, "gap_ami"]
    assert any(f"(0 = unrelated, 1 = the same): k = 4: {ami:.2f}." in c for c in captions)
    for profile in model.profiles:
        assert not profile["name"].startswith("Persona ")
        typical, _ = typical_lines(profile["typical"]["attributes"])
        assert f"Typical:** {'; '.join(typical)}" in text
        relative = relative_line(profile["relative"])
        assert f"Compared with their own average:** {relative}" in text
