"""Confirmed deletion (SPEC §11): is each id really gone from the index? One verdict line per record.

A check is a target call (``bulkdelete.targets``: ``CoveoSearchCheck``, ``VeltGetCheck``, ``HttpCheck``) that the
delete engine runs in rounds (``rounds.Verifier``) until every record is gone or ``--wait`` runs out; Coveo's Logs API
(``logs.CoveoLogs``) explains what is not gone. ``run.run_verification`` is the whole command.
"""

from bulkdelete.verify.lines import VerdictKind, VerdictLine
from bulkdelete.verify.logs import CoveoLogs
from bulkdelete.verify.rounds import Check, Verifier, VerifyOptions
from bulkdelete.verify.run import VerifyReport, run_verification

__all__ = [
    "Check",
    "CoveoLogs",
    "VerdictKind",
    "VerdictLine",
    "Verifier",
    "VerifyOptions",
    "VerifyReport",
    "run_verification",
]
