"""What the pages show, in the order and with the names a reader expects: pure pandas,
so it is tested without Streamlit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from cxdata.personas.models import PersonaModel


def batch_table(batches: pd.DataFrame) -> pd.DataFrame:
    """Batches as a user reads them: plain column names, newest first."""
    labels = {
        "batch_id": "Batch",
        "source_name": "File",
        "study": "Study",
        "rows": "Observations",
        "customers": "Customers",
        "imported_at": "Imported at",
    }
    return batches[list(labels)].rename(columns=labels)


def persona_table(model: PersonaModel) -> pd.DataFrame:
    """One row per persona for the CSV download: size, what sets it apart, its relatively
    best and worst stage, typical attributes (share of those with a known value, how many
    that is, and the share of the whole persona), channel shares and outcomes."""
    rows = []
    for p in model.profiles:
        row: dict[str, object] = {
            "model_id": model.model_id,
            "persona": p["persona"],
            "name": p["name"],
            "generated_name": p["generated_name"],
            "customers": p["size"],
            "share": p["share"],
            "distinguishing": "; ".join(
                f"{d['label']} {d['std_diff']:+.2f} sd" for d in p["distinguishing"]
            ),
        }
        relative = p.get("relative") or {}
        row |= {f"relative_{k}": v for k, v in relative.items()}
        for name, typical in p["typical"]["attributes"].items():
            if not typical.get("typical", True):
                continue  # known for under 30% of the persona: not its typical value
            row[f"typical_{name}"] = typical["value"]
            row[f"typical_{name}_share"] = typical["share"]  # of those with a known value
            if "known" in typical:
                row[f"typical_{name}_known"] = typical["known"]
                row[f"typical_{name}_of_persona"] = typical["of_persona"]
        row |= {f"channel_{c}_share": v for c, v in p["typical"]["channels"].items()}
        row |= {f"outcome_{o}": v for o, v in p["outcomes"].items()}
        rows.append(row)
    return pd.DataFrame(rows)


def default_segment(choices: list[str], value_counts: Mapping[str, int]) -> int:
    """Where the heatmap opens: on personas whenever a model exists, otherwise on the first
    choice with 2-12 values (a segment one can read at a glance), else the first choice."""
    if "persona" in choices:
        return choices.index("persona")
    for i, name in enumerate(choices):
        if 2 <= value_counts.get(name, 0) <= 12:
            return i
    return 0
