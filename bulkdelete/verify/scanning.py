"""How a verification may scan (``ScanPlan``) and which check each of its rounds takes (``ScanChoice``, SPEC §13.1).

``ScanChoice.choose(pending)`` runs before each round, through the verifier's transport, rate, settings and stats:

1. ``--check ids``, or no source to list: no scan (the verifier never builds a ``ScanChoice``).
2. ``auto`` with so few ids pending that no scan can be cheaper (``QueryCosts.worth_counting``): ids, nothing asked.
3. The source's name, looked up once when only its id is known (Coveo's Sources API; ``--source-name`` skips it).
   A look-up that fails makes ``auto`` ids for the whole run (one warning) and stops a ``--check scan`` (an unknown
   source: ``input-error``, exit 2; a refused key: ``aborted``, exit 3).
4. ``auto``: one count query (``numberOfResults: 0``); ``QueryCosts.choose`` picks. A count that could not be read:
   ids this round. ``scan``: a scan, no count.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bulkdelete.errors import ConfigError
from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.records import Record
from bulkdelete.select.listing import Listing
from bulkdelete.verify.choice import CheckMode, QueryCosts, round_check
from bulkdelete.verify.scan import CallArgs, ScanRound
from bulkdelete.verify.spool import Spool

Resolve = Callable[[CallArgs], Awaitable[tuple[str | None, RunEnd]]]


@dataclass(frozen=True, slots=True)
class ScanPlan:
    """How a verification may scan.

    ``listing(name)``: a fresh listing of the whole source for one round (``name``: the source's, or None where
    there is none: Velt). ``name``: known already (``--source-name``), else ``resolve`` looks it up once (Coveo's
    ``select.resolve_source_name``). ``where``: what the evidence names, ``{name}`` replaced (``source {name}``,
    ``organization ORG``, ``folder F``). ``countable``: the API answers a count query (Coveo); without one (Velt)
    ``auto`` is ids. ``view_all``: the listing sees secured items (the evidence says so). ``warn``: where a look-up
    that failed under ``auto`` is said (the run sets it).
    """

    mode: CheckMode = CheckMode.AUTO
    listing: Callable[[str | None], Listing] | None = None
    name: str | None = None
    resolve: Resolve | None = None
    where: str = "source {name}"
    costs: QueryCosts = field(default_factory=QueryCosts)
    countable: bool = True
    view_all: bool = True
    warn: Callable[[str], None] | None = None

    @property
    def lists(self) -> bool:
        """Whether any round may scan: a listing, and a ``--check`` other than ``ids``."""
        return self.listing is not None and self.mode is not CheckMode.IDS

    def describe(self, name: str | None) -> str:
        return self.where.replace("{name}", name or "")


class ScanChoice:
    """Each round's check for a verification that may scan: ``choose`` gives a ``ScanRound`` to run, or None for
    the per-id checks; ``stop()`` reaches the look-up, the count or the scan under way."""

    def __init__(self, plan: ScanPlan, args: CallArgs) -> None:
        assert plan.listing is not None
        self._plan = plan
        self._make = plan.listing
        self._args = args
        self._name = plan.name
        self._named = plan.name is not None or plan.resolve is None
        self._looked_up = False
        self._current: ScanRound | None = None
        self._stopping: tuple[StopReason, str | None] | None = None

    def __repr__(self) -> str:
        return f"<ScanChoice {self._plan.mode} name={self._name!r} current={self._current!r}>"

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        if self._stopping is None:
            self._stopping = (reason, message)
        if self._current is not None:
            self._current.stop(reason, message)

    async def choose(self, pending: int) -> tuple[ScanRound | None, RunEnd | None]:
        """The scan round for ``pending`` ids, or None (ask for the ids); and how the verification ends instead,
        when the look-up or the count query says it must (a refused key, an unknown source, a stop)."""
        plan = self._plan
        counting = plan.mode is CheckMode.AUTO and plan.countable
        if plan.mode is CheckMode.AUTO and not (counting and plan.costs.worth_counting(pending)):
            return None, None
        end = await self._look_up()
        if end is not None or not self._named:
            return None, end
        scan = self._current = ScanRound(
            self._make(self._name),
            plan.describe(self._name),
            self._args,
            children=plan.costs.children,
            view_all=plan.view_all,
        )
        count: int | None = None
        if counting:
            count, end = await scan.count()
            if end is not None:
                return None, end
        if round_check(plan.mode, plan.costs, pending, count) is CheckMode.SCAN:
            return scan, None
        self._current = None
        return None, None

    async def _look_up(self) -> RunEnd | None:
        """The source's name, asked once when needed; how the verification ends when a ``--check scan`` cannot
        have it (under ``auto``: a warning, and ids from then on)."""
        resolve = self._plan.resolve
        if self._named or self._looked_up or resolve is None:
            return None
        self._looked_up = True
        try:
            name, end = await resolve(self._args)
        except ConfigError as exc:
            name, end = None, RunEnd(StopReason.INPUT_ERROR, str(exc), 0)
        if name is not None:
            self._name, self._named = name, True
            return None
        if self._stopping is not None:
            return RunEnd(self._stopping[0], self._stopping[1], 0)
        why = end.message or "no answer named it"
        if self._plan.mode is CheckMode.SCAN:
            reason = StopReason.ABORTED if end.reason is StopReason.COMPLETED else end.reason
            return RunEnd(reason, f"--check scan: the source's name could not be looked up: {why}", 0)
        self._args[0].stopping = False  # the look-up's engine stopped the shared transport as it stopped itself
        if self._plan.warn is not None:
            self._plan.warn(
                f"--check auto: the source's name could not be looked up ({why}): every round asks for the ids"
            )
        return None


async def spool_all(
    records: AsyncIterable[Sequence[Record]], park: Callable[[Spool, Record], None], stopping: Callable[[], bool]
) -> Spool:
    """Every record of ``records`` into a new spool (``park`` puts each there), until the input ends or a stop."""
    spool = Spool()
    async for chunk in records:
        for record in chunk:
            park(spool, record)
        if stopping():
            break
    return spool
