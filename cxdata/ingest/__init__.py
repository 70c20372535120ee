"""Ingestion: readers per format, column mapping, wide -> long, validation, atomic batches."""

from cxdata.ingest.load import IngestResult, ingest_bytes, ingest_file, load_sample
from cxdata.ingest.mapping import Mapping, load_mapping, parse_mapping
from cxdata.ingest.problems import IngestError, Problem, problems_table

__all__ = [
    "IngestError",
    "IngestResult",
    "Mapping",
    "Problem",
    "ingest_bytes",
    "ingest_file",
    "load_sample",
    "parse_mapping",
    "load_mapping",
    "problems_table",
]
