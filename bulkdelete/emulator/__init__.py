"""A local emulator of the Coveo Push API, the Velt REST API and a plain REST API, for tests, benchmarks and
rehearsals.

Routes (see ``coveo``, ``search``, ``logs``, ``velt``, ``rest``, ``s3``, ``admin``)::

    DELETE /push/v1/organizations/{org}/sources/{src}/documents?documentId=…&deleteChildren=…   202 null
    DELETE /push/v1/organizations/{org}/sources/{src}/documents/olderthan?orderingId=…          202 null
    POST   /push/v1/organizations/{org}/sources/{src}/status?statusType=…                       201 null
    POST   /push/v1/organizations/{org}/files                                                   201 container
    PUT    /_emulator/upload/{fileId}?X-Amz-…  (the container's uploadUri, S3-like)             200
    PUT    /push/v1/organizations/{org}/sources/{src}/documents/batch?fileId=…                  202 null
    POST   /rest/search/v2?organizationId={org}&viewAllContent=true    {"aq": "@uri==(…)", …}       200 results
    GET    /rest/organizations/{org}/sources/{id}                      the source's name and count   200 source
    POST   /logs/v1/organizations/{org}?from=…&to=…&page=…&perPage=…   {"results": ["ERROR"], …}    200 entries
    POST   /v1|v2/organizations/documents/delete                                                Velt
    POST   /v1|v2/organizations/documents/get              the requested ids that exist, or a page  Velt
    DELETE /rest/{collection}/{id}                                                   204, or 404 when absent
    GET    /_emulator/stats · GET|POST /_emulator/documents · POST /_emulator/reset-stats

Coveo deletes pass through an indexing pipeline (``pipeline``): answered 202 at once, applied
``processing_delay_s`` later (0: at once), or never (``delete_fail_rate``), each outcome logged for the Logs API.
Tests move the emulator's clocks with ``Emulator.advance(seconds)`` instead of sleeping.
"""

from bulkdelete.emulator.app import build_app
from bulkdelete.emulator.config import EmulatorConfig, Quota, parse_quota
from bulkdelete.emulator.runner import Emulator, run_emulator
from bulkdelete.emulator.state import EmulatorState, Stats
from bulkdelete.emulator.store import DocSpec, DocumentStore, read_doc_ids, read_docs

__all__ = [
    "DocSpec",
    "DocumentStore",
    "Emulator",
    "EmulatorConfig",
    "EmulatorState",
    "Quota",
    "Stats",
    "build_app",
    "parse_quota",
    "read_doc_ids",
    "read_docs",
    "run_emulator",
]
