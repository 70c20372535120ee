"""The sample data set: synthetic CX studies with planted, documented truth (`synthetic`),
its journey framework (`framework`), README (`readme`) and files on disk (`write`)."""

from cxdata.sample.synthetic import (
    DATA_FILES,
    FRAMEWORK_FILE,
    HOME_DELIVERY,
    IRRELEVANT,
    PERSONAS,
    SAMPLE_DIR,
    STAGES,
    STUDY_OF_FILE,
    SURVEY_ITEMS,
    TOUCHPOINTS,
    TRUTH_FILE,
    generate,
    long_frame,
)
from cxdata.sample.write import mapping_for, write_sample

__all__ = [
    "DATA_FILES",
    "FRAMEWORK_FILE",
    "HOME_DELIVERY",
    "IRRELEVANT",
    "PERSONAS",
    "SAMPLE_DIR",
    "STAGES",
    "STUDY_OF_FILE",
    "SURVEY_ITEMS",
    "TOUCHPOINTS",
    "TRUTH_FILE",
    "generate",
    "long_frame",
    "mapping_for",
    "write_sample",
]
