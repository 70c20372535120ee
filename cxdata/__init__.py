"""cxdata: customer-experience observation studies in DuckDB."""

__version__ = "0.1.0"
