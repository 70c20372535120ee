"""Writing the sample data set: data files, mappings, framework, planted truth and README."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cxdata.sample.framework import write_framework
from cxdata.sample.readme import render_readme
from cxdata.sample.synthetic import (
    DATA_FILES,
    FRAMEWORK_FILE,
    GERMAN_TOML,
    OUTCOMES_TOML,
    SURVEY_TOML,
    generate,
)


def write_sample(out_dir: Path, seed: int = 7) -> list[Path]:
    """Write the data files, mappings, framework, truth and README; return the data files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = generate(seed)
    for name, df in tables.items():
        path = out_dir / name
        if name.endswith(".parquet"):
            table = pa.Table.from_pandas(df, preserve_index=False)
            pq.write_table(table, path, compression="zstd")
        else:
            de = name.endswith("_de.csv")
            df.to_csv(path, sep=";" if de else ",", index=False, lineterminator="\n",
                      encoding="utf-8-sig" if de else "utf-8")  # fmt: skip
    for name, text in [("survey_wide.mapping.toml", SURVEY_TOML),
                       ("ecommerce_sessions_de.mapping.toml", GERMAN_TOML),
                       ("retail_store_visits.mapping.toml", OUTCOMES_TOML),
                       ("call_centre_calls.mapping.toml", OUTCOMES_TOML),
                       ("README.md", render_readme(tables, seed))]:  # fmt: skip
        (out_dir / name).write_text(text, encoding="utf-8")
    write_framework(tables, out_dir / FRAMEWORK_FILE)
    return [out_dir / name for name in DATA_FILES]


def mapping_for(path: Path) -> Path | None:
    """The sibling `<name>.mapping.toml` of a data file, or None when there is none."""
    candidate = Path(path).with_suffix(".mapping.toml")
    return candidate if candidate.is_file() else None
