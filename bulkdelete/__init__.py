"""bulkdelete: delete very large numbers of documents from the Coveo Push API and the Velt REST API.

Fast, within the API's quota, and without ever losing track of an item: one ``Result`` per input record.
The CLI (``bulkdelete``) and the library share one engine; start with ``delete_ids`` or ``run_deletion``, and prove
the deletion with ``verify_ids`` (``Verification``) or ``run_verification``; select what to delete with
``list_items`` (``CoveoListing``, ``VeltListing``).
"""

from bulkdelete._version import __version__
from bulkdelete.api import Deletion, Verification, delete_ids, verify_ids
from bulkdelete.errors import AbortRun, BulkDeleteError, ConfigError, TransportError
from bulkdelete.pipeline.run import RunOptions, RunReport, run_deletion
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import AutoRate, FixedRate, RateControl, RateSpec, Unlimited
from bulkdelete.records import Outcome, Record, Result
from bulkdelete.secrets import Secret
from bulkdelete.select import CoveoListing, Listed, VeltListing, list_items
from bulkdelete.targets.base import Target
from bulkdelete.targets.coveo import CoveoItemTarget, CoveoSettings
from bulkdelete.targets.coveo_batch import CoveoBatchTarget
from bulkdelete.targets.coveo_search import CoveoSearchCheck
from bulkdelete.targets.http import HttpCheck
from bulkdelete.targets.velt import VeltSettings, VeltTarget
from bulkdelete.targets.velt_get import VeltGetCheck
from bulkdelete.verify import CoveoLogs, VerdictKind, VerdictLine, VerifyOptions, VerifyReport, run_verification

__all__ = [
    "AbortRun",
    "AutoRate",
    "BackoffPolicy",
    "BulkDeleteError",
    "ConfigError",
    "CoveoBatchTarget",
    "CoveoItemTarget",
    "CoveoListing",
    "CoveoLogs",
    "CoveoSearchCheck",
    "CoveoSettings",
    "Deletion",
    "FixedRate",
    "HttpCheck",
    "Listed",
    "Outcome",
    "RateControl",
    "RateSpec",
    "Record",
    "Result",
    "RunOptions",
    "RunReport",
    "Secret",
    "Target",
    "TransportError",
    "Unlimited",
    "VeltGetCheck",
    "VeltListing",
    "VeltSettings",
    "VeltTarget",
    "VerdictKind",
    "VerdictLine",
    "Verification",
    "VerifyOptions",
    "VerifyReport",
    "__version__",
    "delete_ids",
    "list_items",
    "run_deletion",
    "run_verification",
    "verify_ids",
]
