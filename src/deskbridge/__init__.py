"""deskbridge: move helpdesk data between helpdesks and into a DuckDB warehouse."""

__version__ = "0.1.0"
