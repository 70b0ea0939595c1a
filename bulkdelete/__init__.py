"""bulkdelete: delete very large numbers of documents from the Coveo Push API and the Velt REST API."""

from bulkdelete.records import Outcome, Record, Result

__all__ = ["Outcome", "Record", "Result"]
__version__ = "0.1.0"
