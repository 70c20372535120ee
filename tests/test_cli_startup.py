"""Fast commands: `cxdata --help` and `cxdata stats` import no pandas-heavy analytics
(ibis, scikit-learn, scipy); those load only inside the commands that use them. The time
itself is measured by bench/cli_startup.py, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("ibis", "sklearn", "scipy")
PROBE = """
import json, sys
from cxdata.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit_:
    code = exit_.code
print(json.dumps({"code": code, "heavy": sorted(
    m for m in sys.modules if m.split(".")[0] in HEAVY)}), file=sys.stderr)
""".replace("HEAVY", repr(HEAVY))


def _imports(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=False
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_help_imports_nothing_heavy():
    probe = _imports("--help")
    assert probe == {"code": 0, "heavy": []}


def test_stats_imports_nothing_heavy(tmp_path):
    probe = _imports("stats", "--db", str(tmp_path / "s.duckdb"))
    assert probe == {"code": 0, "heavy": []}
