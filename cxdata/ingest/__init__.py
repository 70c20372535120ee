"""Ingestion: readers per format, column mapping, wide -> long, validation, atomic batches."""

from cxdata.errors import IngestError, Problem, problems_table
from cxdata.ingest.load import IngestResult, ingest_bytes, ingest_file
from cxdata.ingest.mapping import Mapping, load_mapping, parse_mapping

__all__ = [
    "IngestError",
    "IngestResult",
    "Mapping",
    "Problem",
    "ingest_bytes",
    "ingest_file",
    "parse_mapping",
    "load_mapping",
    "problems_table",
]
