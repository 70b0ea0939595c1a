"""``bulkdelete demo``: the whole pipeline against an embedded emulator, with no credentials.

It seeds the emulator with ``samples/documents.txt``, deletes ``samples/export.csv`` through exactly the code path
of ``bulkdelete coveo delete --delete-children --status REFRESH`` (with a few injected 503s and dropped
connections to show the retries), prints the JSON lines and the summary. The emulator applies each delete a few
seconds after its 202, as Coveo's indexing pipeline does: the demo then proves the deletion the way ``delete
--verify`` does (``bulkdelete.verify``: the Search API with viewAllContent, rounds until every delete took effect),
and checks the emulator holds exactly the documents that should survive: exit 0 when every deleted id is proven gone
and the survivors are right. Last, it writes the run's report (``bulkdelete report``, with the report extra, its
verification part included) and prints its path.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import click
import orjson

from bulkdelete.cli import loop
from bulkdelete.emulator import EmulatorConfig, parse_quota, read_doc_ids, run_emulator
from bulkdelete.input.reader import read_records
from bulkdelete.net.session import Network
from bulkdelete.output import console
from bulkdelete.output.summary import write_summary
from bulkdelete.pipeline.run import RunOptions, run_deletion
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import per_second
from bulkdelete.records import Result
from bulkdelete.secrets import Secret
from bulkdelete.targets.coveo import CoveoItemTarget, CoveoSettings, validate_document_id
from bulkdelete.targets.coveo_admin import StatusLifecycle
from bulkdelete.targets.coveo_search import CoveoSearchCheck
from bulkdelete.verify import CoveoLogs, VerifyOptions, run_verification

DEMO_ORG, DEMO_SOURCE = "demo-org", "demo-source"
DEMO_QUOTA = 25  # requests per second, the embedded emulator's: the report draws it
PROCESSING_DELAY_S = 2.0  # the embedded emulator applies each delete this long after its 202 (Coveo: 2-5 minutes)


def samples_dir() -> Path:
    """The samples shipped in the wheel (``bulkdelete/_samples``), or the repository's ``samples/``."""
    packaged = Path(__file__).resolve().parent.parent / "_samples"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "samples"


def expected_survivors(documents: list[str], export: Path) -> set[str]:
    """What must remain, computed independently of the emulator: ids not exported and not below an exported id."""
    # --delete-children: a whole-site id (https://www.example.com/) is refused as invalid, so it stays.
    records = read_records([str(export)])
    gone = {r.id for r in records if r.problem is None and not validate_document_id(r.id, guard_sites=True)}
    return {doc for doc in documents if doc not in gone and not any(doc.startswith(g + "/") for g in gone)}


@click.command("demo")
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help=f"Requests per second (the demo's emulator has a quota of {DEMO_QUOTA}/1s).",
)
@click.option(
    "--fail-rate",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="Fraction of requests the emulator answers 503 (retried).",
)
@click.option(
    "--reset-rate",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Fraction of requests whose connection the emulator drops (retried).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Makes the faults repeatable.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the run's report page here (needs the report extra)  [default: report.html in a new temporary "
    "folder, beside the run's results.jsonl and summary.json].",
)
@click.option(
    "--input",
    "export",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Ids to delete  [default: samples/export.csv].",
)
def demo_command(
    rate: float, fail_rate: float, reset_rate: float, seed: int, report_path: Path | None, export: Path | None
) -> None:
    """Delete a sample export from an embedded emulator: no credentials, no network beyond 127.0.0.1.

    It ends by writing the run's report, a page with charts (with the report extra), and printing its path.
    """
    samples = samples_dir()
    export = export or samples / "export.csv"
    documents = list(read_doc_ids(samples / "documents.txt"))
    folder = Path(tempfile.mkdtemp(prefix="bulkdelete-demo-"))
    config = EmulatorConfig(
        fail_rate=fail_rate,
        reset_rate=reset_rate,
        seed=seed,
        quota=parse_quota(f"{DEMO_QUOTA}/1s"),
        processing_delay_s=PROCESSING_DELAY_S,
    )
    code = loop.run(_demo(documents, export, rate, config, folder))
    write_report(folder, report_path or folder / "report.html")
    sys.exit(code)


def write_report(folder: Path, page: Path) -> None:
    """The run's report from ``folder``'s results and summary, or how to get one when the extra is missing."""
    try:
        from bulkdelete.report import build_report  # the report extra (bokeh)
    except ImportError:
        console.info(f"demo: results in {folder}; for this run as a page with charts: pip install 'bulkdelete[report]'")
        return
    summary = orjson.loads((folder / "summary.json").read_bytes())
    verdicts = folder / "verdicts.jsonl"
    verified = (verdicts,) if verdicts.exists() else ()
    build_report(folder / "results.jsonl", page, summary=summary, quota=float(DEMO_QUOTA), verified=verified)
    console.info(f"demo: report: {page} (open it in a browser; results and summary beside it in {folder})")


async def _demo(documents: list[str], export: Path, rate: float, config: EmulatorConfig, folder: Path) -> int:
    async with run_emulator(config, docs=documents) as emu:
        console.info(
            f"demo: emulator on {emu.base_url} holding {len(documents)} documents; "
            f"deleting {export.name} with --delete-children --status REFRESH"
        )
        settings = CoveoSettings(emu.base_url, DEMO_ORG, DEMO_SOURCE, Secret("demo-key"), delete_children=True)
        options = RunOptions(
            inputs=(str(export),),
            rate=per_second(rate),
            concurrency=8,
            backoff=BackoffPolicy(base=0.05, cap=0.5),
            secrets=(settings.api_key,),
            summary_path=str(folder / "summary.json"),
            network=Network.from_env(proxy=""),  # the embedded emulator is on 127.0.0.1: never through a proxy
        )
        with (folder / "results.jsonl").open("wb") as results:  # stdout shows them too: the report reads this copy

            def keep(result: Result) -> None:
                results.write(result.to_json_line())

            hooks = StatusLifecycle(settings, "REFRESH")
            report = await run_deletion(CoveoItemTarget(settings), options, hooks=hooks, on_result=keep)
        proven = await _verify(emu.base_url, settings, options, folder)
        left = set(emu.documents)
        stats = emu.stats()
    expected = expected_survivors(documents, export)
    console.info(f"demo: emulator: {len(left)} documents left, status history {stats.get('status_history')}")
    if left == expected and proven:
        console.info(
            f"demo: check: exactly the {len(expected)} documents that should survive are left, and every deleted id is "
            f"proven gone ✓ (exit status {report.exit_code}: the sample holds invalid ids, and one the search cannot "
            "express, on purpose)"
        )
        return 0
    console.error(
        f"demo: check FAILED: unexpectedly left {sorted(left - expected)}, wrongly deleted {sorted(expected - left)}"
        f"{'' if proven else ', or a deleted id not proven gone'}"
    )
    return 1


async def _verify(base_url: str, settings: CoveoSettings, options: RunOptions, folder: Path) -> bool:
    """``delete --verify``'s second half: every ok result line checked against the index until its delete took
    effect; the verdicts to ``verdicts.jsonl``, their counts into ``summary.json``. True when every deleted id is
    proven gone (the invalid ids are ``not_deleted``: nothing was sent for them)."""
    console.info(
        f"demo: verify: the emulator applies each delete {PROCESSING_DELAY_S:g} s after its 202 (Coveo: 2-5 min);"
        " checking every deleted id against its index (Search API, viewAllContent, no cache) until it is gone"
    )
    check = CoveoSearchCheck(base_url, DEMO_ORG, settings.api_key, children=True)
    verify_options = dataclasses.replace(
        options,
        inputs=(str(folder / "results.jsonl"),),
        output=str(folder / "verdicts.jsonl"),
        summary_path=None,
        rate=per_second(DEMO_QUOTA - 5),
    )

    def logs(warn: Callable[[str], None]) -> CoveoLogs:
        return CoveoLogs(base_url, DEMO_ORG, DEMO_SOURCE, settings.api_key, since=time.time() - 600, warn=warn)

    polling = VerifyOptions(interval_s=1.0, wait_s=60.0, logs_interval_s=10.0)
    checked = await run_verification(check, verify_options, polling, logs=logs)  # verdicts to the -o file
    summary_path = folder / "summary.json"
    summary = orjson.loads(summary_path.read_bytes())
    summary["verification"] = checked.verification
    write_summary(str(summary_path), summary)
    verdicts = checked.verification["verdicts"]
    rounds = checked.verification["rounds"]
    console.info(
        f"demo: verify: {verdicts} in {rounds} round{'' if rounds == 1 else 's'} → {folder / 'verdicts.jsonl'}"
    )
    lines = [orjson.loads(line) for line in (folder / "verdicts.jsonl").read_bytes().splitlines()]
    # Expected besides gone: the invalid ids (nothing was sent: not_deleted) and an id holding a double quote, which
    # Coveo's query language cannot express (unknown, never asked: checks 0).
    return all(line["verdict"] in ("gone", "not_deleted") or line["checks"] == 0 for line in lines)
