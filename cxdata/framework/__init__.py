"""The journey framework: stages, touchpoints and the interaction catalogue (`model`), its
TOML and CSV files (`files`) and its versions in the store (`versions`)."""

from cxdata.framework.files import load_framework_file, save_framework_file
from cxdata.framework.model import Framework, Interaction, Stage
from cxdata.framework.versions import (
    active_framework,
    framework_versions,
    import_framework,
    save_framework,
)

__all__ = [
    "Framework",
    "Interaction",
    "Stage",
    "active_framework",
    "framework_versions",
    "import_framework",
    "load_framework_file",
    "save_framework",
    "save_framework_file",
]
