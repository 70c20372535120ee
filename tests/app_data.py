"""What AppTest pages hand the browser, read back for assertions."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest


def chart_data(at: AppTest, index: int) -> pd.DataFrame:
    """The data behind the index-th Altair chart on the page, as the browser receives it."""
    import pyarrow as pa

    proto = at.get("vega_lite_chart")[index].proto
    frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in proto.datasets]
    return next(f for f in frames if "stage" in f.columns)
