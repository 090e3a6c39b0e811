"""``merajut publish candidates | show | approve | reject | key``: sign-off before publication.

A run that passes the publish gate makes a *candidate* snapshot and leaves ``CURRENT`` where it
was. A data steward looks at its findings (rule violations and outliers, each with a stable id:
``show``), acknowledges each one by id and approves it (``approve``), which moves ``CURRENT``;
or rejects it with a reason. Approving and rejecting need ``MERAJUT_STEWARD_KEY`` (a steward key,
``publish key create``), hold the pipeline lock, and are in the publication log, with the key's
owner as the actor, before anything changes. Every refusal is recorded too.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lakehouse.gold_snapshot import GoldSnapshots, SnapshotError
from lakehouse.settings import Settings
from lakehouse.signoff import Review, SignoffError, SnapshotReviews
from lakehouse.withdrawals import marked_snapshots
from orchestration.cli.common import console, load_settings, pipeline_settings
from orchestration.cli.credentials import key_commands
from orchestration.cli.pipeline import WaitOption, pipeline_lock
from orchestration.cli.steward import audit, print_findings, require_steward, steward_store

app = typer.Typer(
    no_args_is_help=True,
    help="Sign-off before publication: candidate snapshots, their findings, approval (steward)",
)
app.add_typer(
    key_commands(
        role="Data steward",
        kind="steward",
        variable="MERAJUT_STEWARD_KEY",
        store=steward_store,
        audit=audit,
    ),
    name="key",
)

SnapshotArg = Annotated[str, typer.Argument(help="The snapshot's id, e.g. 20261101T020000000000Z")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]{message}[/]", highlight=False)
    return typer.Exit(code)


def _current(settings: Settings) -> str | None:
    try:
        return GoldSnapshots(settings.layout.gold).current_id()
    except SnapshotError as exc:
        raise _fail(str(exc)) from exc


def _note(review: Review, current: str | None, marked: list[str]) -> str:
    """What can be done with a reviewed snapshot now, in a few words."""
    if review.snapshot_id == current:
        return "CURRENT"
    if review.status == "rejected":
        return f"rejected by {review.actor}: {review.reason}"
    if review.snapshot_id in marked:
        return "counted an erased or restricted child: to be withdrawn"
    if current is not None and review.snapshot_id < current:
        if review.status == "approved":
            return f"approved by {review.actor}; replaced since"
        return f"older than CURRENT ({current}): cannot be approved"
    if review.status == "approved":
        return f"approved by {review.actor}; approve again to finish moving CURRENT"
    return "awaiting approval"


@app.command()
def candidates(
    every: Annotated[
        bool, typer.Option("--all", help="Also approved and rejected snapshots still on disk")
    ] = False,
) -> None:
    """Candidate snapshots, newest first: id, status, findings, what can be done with it. One
    line each, tab-separated (scriptable)."""
    settings = load_settings()
    current = _current(settings)
    marked = marked_snapshots(settings.layout)
    reviews = [
        r for r in SnapshotReviews(settings.layout).all() if every or r.status == "candidate"
    ]
    console.print(f"CURRENT: {current or 'nothing is live yet'}", highlight=False)
    if not reviews:
        console.print("no candidate snapshot" + ("" if every else " awaiting a decision"))
        return
    for r in reviews:
        note = _note(r, current, marked)
        print("\t".join((r.snapshot_id, r.status, f"{len(r.findings)} finding(s)", note)))


def _review(settings: Settings, snapshot_id: str) -> tuple[SnapshotReviews, Review]:
    reviews = SnapshotReviews(settings.layout)
    try:
        review = reviews.read(snapshot_id)
    except SignoffError as exc:
        raise _fail(str(exc)) from exc
    if review is None:
        status = reviews.status(snapshot_id)
        raise _fail(
            f"snapshot {snapshot_id} was published before sign-off existed"
            if status != "unknown"
            else f"no snapshot {snapshot_id} on disk; `merajut publish candidates` lists them"
        )
    return reviews, review


@app.command()
def show(
    snapshot_id: SnapshotArg,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (scriptable)")] = False,
) -> None:
    """A snapshot's status and every finding (rule violation or outlier) with its id, what it
    is, its value and what was expected: what the approver acknowledges, one by one."""
    settings = load_settings()
    reviews, review = _review(settings, snapshot_id)
    try:
        findings = reviews.findings(review)
    except SignoffError as exc:
        raise _fail(str(exc)) from exc
    current = _current(settings)
    note = _note(review, current, marked_snapshots(settings.layout))
    if as_json:
        payload = {**review.model_dump(mode="json"), "current": current, "note": note,
                   "findings": [f.to_dict() for f in findings]}  # fmt: skip
        print(json.dumps(payload, indent=2))
        return
    console.print(
        f"snapshot {snapshot_id}: {review.status} ({note}); made {review.created_at}; "
        f"CURRENT {current or '-'}",
        highlight=False,
    )
    console.print(f"quality report: {settings.layout.quality_report(snapshot_id)}", highlight=False)
    if review.actor:
        console.print(f"decided by {review.actor} at {review.decided_at}", highlight=False)
    print_findings(review, findings)
    if review.status == "candidate":
        console.print(
            f"approve with: merajut publish approve {snapshot_id} --acknowledge ID (once per "
            "finding above; MERAJUT_STEWARD_KEY set)",
            markup=False,
            highlight=False,
        )


@app.command()
def approve(
    snapshot_id: SnapshotArg,
    acknowledge: Annotated[
        list[str] | None,
        typer.Option(
            "--acknowledge",
            help="A finding's id (see `merajut publish show`), once per finding: every one "
            "must be acknowledged",
        ),
    ] = None,
    wait: WaitOption = True,
) -> None:
    """Approve a candidate (MERAJUT_STEWARD_KEY required): with every finding acknowledged by
    its id, the approval is written to the publication log and CURRENT moves to it."""
    from orchestration.publish.signoff import Approver
    from orchestration.publish.signoff import approve as approve_snapshot

    settings = pipeline_settings()
    given = list(acknowledge or [])
    about = {"snapshot": snapshot_id, "acknowledged": given}
    key = require_steward(settings, "approve_snapshot", about)
    with pipeline_lock(settings, "merajut publish approve", wait):
        try:
            done = approve_snapshot(
                settings, snapshot_id, given, Approver.steward(key), report=console.print
            )
        except SignoffError as exc:
            audit(settings, {"actor": key.actor, "action": "approve_snapshot", **about,
                             "outcome": "refused", "refusal": str(exc)})  # fmt: skip
            raise _fail(f"not approved: {exc}") from exc
    console.print(
        f"approved {snapshot_id} as {key.actor}, {len(done.acknowledged)} finding(s) "
        f"acknowledged; CURRENT -> {snapshot_id} (was {done.replaced or 'nothing'})",
        highlight=False,
    )
    if done.withdrawn:
        console.print(f"withdrawn (an erasure or restriction): {', '.join(done.withdrawn)}")
    if done.expired:
        console.print(f"removed by the retention policy: {', '.join(done.expired)}")


@app.command()
def reject(
    snapshot_id: SnapshotArg,
    reason: Annotated[str, typer.Option(help="Why it must not go live (recorded)")],
    wait: WaitOption = True,
) -> None:
    """Reject a candidate (MERAJUT_STEWARD_KEY required): it never goes live; CURRENT stays."""
    from orchestration.publish.signoff import Approver
    from orchestration.publish.signoff import reject as reject_snapshot

    settings = pipeline_settings()
    about = {"snapshot": snapshot_id, "reason": reason}
    key = require_steward(settings, "reject_snapshot", about)
    with pipeline_lock(settings, "merajut publish reject", wait):
        try:
            reject_snapshot(settings, snapshot_id, reason, Approver.steward(key))
        except SignoffError as exc:
            audit(settings, {"actor": key.actor, "action": "reject_snapshot", **about,
                             "outcome": "refused", "refusal": str(exc)})  # fmt: skip
            raise _fail(f"not rejected: {exc}") from exc
    console.print(f"rejected {snapshot_id} as {key.actor}; CURRENT unchanged", highlight=False)
