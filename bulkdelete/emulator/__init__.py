"""A local emulator of the Coveo Push API, the Velt REST API and a plain REST API, for tests, benchmarks and
rehearsals.

Routes (see ``coveo``, ``velt``, ``rest``, ``s3``, ``admin``)::

    DELETE /push/v1/organizations/{org}/sources/{src}/documents?documentId=…&deleteChildren=…   202 null
    DELETE /push/v1/organizations/{org}/sources/{src}/documents/olderthan?orderingId=…          202 null
    POST   /push/v1/organizations/{org}/sources/{src}/status?statusType=…                       201 null
    POST   /push/v1/organizations/{org}/files                                                   201 container
    PUT    /_emulator/upload/{fileId}?X-Amz-…  (the container's uploadUri, S3-like)             200
    PUT    /push/v1/organizations/{org}/sources/{src}/documents/batch?fileId=…                  202 null
    POST   /v1|v2/organizations/documents/delete                                                Velt
    DELETE /rest/{collection}/{id}                                                   204, or 404 when absent
    GET    /_emulator/stats · GET|POST /_emulator/documents · POST /_emulator/reset-stats
"""

from bulkdelete.emulator.app import build_app
from bulkdelete.emulator.config import EmulatorConfig, Quota, parse_quota
from bulkdelete.emulator.runner import Emulator, run_emulator
from bulkdelete.emulator.state import EmulatorState, Stats
from bulkdelete.emulator.store import DocumentStore, read_doc_ids

__all__ = [
    "DocumentStore",
    "Emulator",
    "EmulatorConfig",
    "EmulatorState",
    "Quota",
    "Stats",
    "build_app",
    "parse_quota",
    "read_doc_ids",
    "run_emulator",
]
