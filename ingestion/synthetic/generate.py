"""Generate all source databases and drops of one synthetic MerajutASA world.

Generators run in registration order, or, with ``workers`` > 1, as soon as the generators they
require have finished, each in a process forked from this one. Every generator has its own
random stream and writes its own database (or drop file), so where it runs changes nothing in
what it writes: a forked worker sees the context as its requirements left it, and what it adds
that later generators read comes back as its :meth:`ServiceGenerator.handoff`. The manifest
lists defects, tables and drops in registration order whatever finished first, so the same
config gives the same bytes with any number of workers.

With several workers, each SQLite database is also written by a process of its own: the
generating process converts its batches and sends them; the writer runs the statements the
generating process would have run, in the same order, on one connection, so the file is the
same. Generating (Python) and storing (SQLite) then use both cores, also while the child
registry and the access log are generated, which nothing else can run beside.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ingestion.synthetic.config import GeneratorConfig
from ingestion.synthetic.context import GenerationContext, KeySpace
from ingestion.synthetic.manifest import MANIFEST_FILENAME, DefectRecord, GenerationManifest
from ingestion.synthetic.registry import (
    DropGenerator,
    DropOutput,
    ServiceGenerator,
    ServiceRegistry,
    default_registry,
)
from ingestion.synthetic.sink import ForwardingSink, SqliteSink, SqlSink, load_stored

Generator = ServiceGenerator | DropGenerator


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)

        # Generated data can be regenerated; durability during the bulk load buys nothing.
        @sa.event.listens_for(engine, "connect")
        def _fast(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")
            cursor.close()

    return engine


def _create_tables(engine: sa.Engine, service: ServiceGenerator) -> list[sa.Table]:
    metadata = sa.MetaData()
    tables = service.tables(metadata)
    with engine.begin() as conn:
        # Drop first so that a regeneration never mixes with rows of an earlier run.
        metadata.drop_all(conn)
        # Tables now, indexes after the load: building an index once is much cheaper
        # than maintaining it through hundreds of thousands of inserts.
        for table in tables:
            conn.execute(sa.schema.CreateTable(table))
    return tables


def _create_indexes(conn: sa.Connection, tables: list[sa.Table]) -> None:
    for table in tables:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            index.create(conn)


def _generate_service(
    ctx: GenerationContext,
    service: ServiceGenerator,
    url: str,
    generated: Callable[[dict[str, int]], None] = lambda counts: None,
    *,
    writers: list[_Writer] | None = None,
) -> dict[str, int]:
    """Fill the service's database; ``generated(counts)`` is called once every row is written
    and before the indexes are built (the rest of the run no longer waits for those).

    With ``writers`` (a run with several workers) a SQLite database is written by a process
    of its own (:func:`_write_database`) while this one generates; the writer is appended to
    ``writers`` for the caller to wait on.
    """
    if writers is not None and sa.engine.make_url(url).get_backend_name() == "sqlite":
        writer = _Writer.start(service, url)
        metadata = sa.MetaData()
        tables = {t.name: t for t in service.tables(metadata)}
        sink = ForwardingSink(writer.pipe, tables, writer.dialect)
        ctx.begin_service(service.name, sink)
        try:
            service.generate(ctx)
            sink.flush()
        except (BrokenPipeError, EOFError):
            writer.wait()  # the writer failed first: raises its own error
            raise
        except BaseException:
            writer.stop()
            raise
        ctx.begin_service(service.name, None)
        generated(sink.counts)
        writer.finish()
        writers.append(writer)
        return sink.counts
    engine = _engine(url)
    try:
        tables_in_order = _create_tables(engine, service)
        with engine.begin() as conn:
            by_name = {t.name: t for t in tables_in_order}
            sqlite = conn.dialect.name == "sqlite"
            sink_here = SqliteSink(conn, by_name) if sqlite else SqlSink(conn, by_name)
            ctx.begin_service(service.name, sink_here)
            service.generate(ctx)
            sink_here.flush()
            ctx.begin_service(service.name, None)
            generated(sink_here.counts)
            _create_indexes(conn, tables_in_order)
            return sink_here.counts
    finally:
        engine.dispose()


@dataclass
class _Writer:
    """A process writing one service's SQLite database from the batches it is sent."""

    service: str
    process: Any
    pipe: Connection
    dialect: sa.Dialect

    @classmethod
    def start(cls, service: ServiceGenerator, url: str) -> _Writer:
        fork = multiprocessing.get_context("fork")
        pipe, theirs = fork.Pipe()
        process = fork.Process(
            target=_write_database,
            args=(service, url, theirs, pipe),
            name=f"write-{service.name}",
            daemon=True,
        )
        process.start()
        theirs.close()
        probe = sa.create_engine(url)
        writer = cls(service.name, process, pipe, probe.dialect)
        probe.dispose()
        message = pipe.recv()  # the tables exist, or what went wrong
        if message != ("ready",):
            writer._fail(message)
        return writer

    def finish(self) -> None:
        """No more rows: the writer builds the indexes and commits."""
        self.pipe.send(("finish",))

    def wait(self) -> None:
        """Until the database is complete; raises what went wrong in the writer."""
        try:
            message = self.pipe.recv()
        except EOFError:
            message = ("error", "the writer died")
        if message[0] != "done":
            self._fail(message)
        self.pipe.close()
        self.process.join()

    def stop(self) -> None:
        """The generating side failed: the database will not be finished."""
        self.process.terminate()
        self.process.join()
        self.pipe.close()

    def _fail(self, message: tuple[str, Any]) -> None:
        self.pipe.close()
        self.process.join()
        raise RuntimeError(f"writing the {self.service} database failed:\n{message[1]}")


def _write_database(
    service: ServiceGenerator, url: str, pipe: Connection, generating_end: Connection
) -> None:
    """Body of a writer process: the statements ``_generate_service`` runs itself, in the
    same order on one connection, with the rows arriving through ``pipe`` (see ForwardingSink).

    It stops when the generating process is gone (its parent changes): the pipe alone would
    not say so, as other forked processes may hold copies of its other end.
    """
    generating_end.close()
    owner = os.getppid()

    def receive() -> Any:
        while not pipe.poll(1.0):
            if os.getppid() != owner:
                raise RuntimeError("the generating process is gone")
        return pipe.recv()

    try:
        engine = _engine(url)
        try:
            tables = _create_tables(engine, service)
            pipe.send(("ready",))
            with engine.begin() as conn:
                sink = SqliteSink(conn, {t.name: t for t in tables})
                while (message := receive())[0] != "finish":
                    if message[0] == "rows":
                        sink.write_stored(message[1], load_stored(message[2]))
                    else:
                        pipe.send(("rows", sink.fetch(*message[1:])))
                _create_indexes(conn, tables)
        finally:
            engine.dispose()
    except BaseException:  # reported to the generating process, which raises it
        pipe.send(("error", traceback.format_exc()))
    else:
        pipe.send(("done", None))
    finally:
        pipe.close()


@dataclass
class _Outcome:
    """What one generator did, in a form that crosses a process boundary."""

    counts: dict[str, int] = field(default_factory=dict)  # table -> rows (a drop: its rows)
    drop: DropOutput | None = None
    defects: list[DefectRecord] = field(default_factory=list)
    keys: dict[str, KeySpace] = field(default_factory=dict)  # key spaces it opened
    shared: dict[str, Any] = field(default_factory=dict)  # ``ctx.shared`` entries it set
    handoff: Any = None


_ABSENT = object()


def _run(
    ctx: GenerationContext,
    generator: Generator,
    source_urls: Mapping[str, str],
    drops_dir: Path,
    *,
    hand_off: bool,
    publish: Callable[[_Outcome], None] = lambda outcome: None,
    writers: list[_Writer] | None = None,
) -> _Outcome:
    """Run one generator; ``publish`` gets its outcome as soon as later generators could use
    it: for a service, when its rows are written, before its indexes are built."""
    planted = len(ctx.defects.planted)
    keys = set(ctx.keys)
    shared = dict(ctx.shared)
    outcome = _Outcome()

    def done(counts: dict[str, int]) -> None:
        outcome.counts = counts
        if hand_off and isinstance(generator, ServiceGenerator):
            outcome.handoff = generator.handoff(ctx)
        outcome.defects = ctx.defects.planted[planted:]
        outcome.keys = {name: space for name, space in ctx.keys.items() if name not in keys}
        outcome.shared = {k: v for k, v in ctx.shared.items() if shared.get(k, _ABSENT) is not v}
        publish(outcome)

    if isinstance(generator, ServiceGenerator):
        _generate_service(ctx, generator, source_urls[generator.name], done, writers=writers)
    else:
        outcome.drop = generator.write(ctx, drops_dir)
        done({generator.name: outcome.drop.rows})
    return outcome


def _in_worker(
    ctx: GenerationContext,
    generator: Generator,
    source_urls: Mapping[str, str],
    drops_dir: Path,
    hand_off: bool,
    conn: Connection,
    inherited_ends: list[Connection],
) -> None:
    """Body of a forked worker: run one generator, send its outcome as soon as it is known,
    then say when the generator has finished (or send the error)."""
    for inherited in inherited_ends:  # the parent's ends of earlier pipes: not this one's
        inherited.close()
    try:
        writers: list[_Writer] = []
        _run(
            ctx,
            generator,
            source_urls,
            drops_dir,
            hand_off=hand_off,
            publish=conn.send,
            writers=writers,
        )
        for writer in writers:
            writer.wait()
    except BaseException:  # reported to the parent, which raises it
        conn.send(traceback.format_exc())
    else:
        conn.send(None)
    finally:
        conn.close()


def _absorb(ctx: GenerationContext, generator: Generator, outcome: _Outcome) -> None:
    """Make a worker's additions visible to generators forked or run after it."""
    ctx.keys.update(outcome.keys)
    ctx.shared.update(outcome.shared)
    if isinstance(generator, ServiceGenerator) and outcome.handoff is not None:
        generator.receive(ctx, outcome.handoff)


def default_workers() -> int:
    """One worker per CPU this process may use (the generator never benefits from more)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Automatic garbage collection off while generating.

    The run builds millions of long-lived records (a million children with their guardians)
    and no reference cycles worth collecting; each full collection would walk all of them,
    and in a forked worker it would also copy every page it touched.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _schedule(
    ctx: GenerationContext,
    generators: list[Generator],
    source_urls: Mapping[str, str],
    drops_dir: Path,
    workers: int,
) -> dict[str, _Outcome]:
    """Run every generator once its requirements are done; at most ``workers`` at once.

    A generator that is the only one that can run while no worker is busy (the institutions
    and the child registry, which everything else needs) runs in this process, so nothing has
    to be handed back from it; the others run in forked workers. A worker's outcome counts as
    soon as its rows are written: the generators waiting for it start while it builds its
    indexes (the access log does not wait for the case tables' indexes).
    """
    fork = multiprocessing.get_context("fork") if workers > 1 else None
    outcomes: dict[str, _Outcome] = {}
    # Writers of databases generated here (several workers only): waited for at the end, so
    # the workers start while the child registry's indexes are built.
    writers: list[_Writer] | None = [] if fork is not None else None
    pending = list(generators)
    running: dict[Connection, tuple[Generator, Any]] = {}
    try:
        _loop(ctx, pending, running, outcomes, writers, source_urls, drops_dir, workers, fork)
    except BaseException:  # stop what still runs, then report the first error
        stopping = [p for _, p in running.values()] + [w.process for w in writers or ()]
        for process in stopping:
            process.terminate()
            process.join()
        raise
    for writer in writers or ():
        writer.wait()
    return outcomes


def _loop(
    ctx: GenerationContext,
    pending: list[Generator],
    running: dict[Connection, tuple[Generator, Any]],
    outcomes: dict[str, _Outcome],
    writers: list[_Writer] | None,
    source_urls: Mapping[str, str],
    drops_dir: Path,
    workers: int,
    fork: Any,
) -> None:
    """The scheduling loop of :func:`_schedule` (which cleans up after it)."""
    required = {r for g in pending for r in g.requires}
    while pending or running:
        ready = [g for g in pending if all(r in outcomes for r in g.requires)]
        if fork is None or (not running and len(ready) == 1):
            for generator in ready[:1]:
                pending.remove(generator)
                outcomes[generator.name] = _run(
                    ctx, generator, source_urls, drops_dir, hand_off=False, writers=writers
                )
            if ready:
                continue
            if fork is None:
                raise RuntimeError(f"generators wait for each other: {[g.name for g in pending]}")
        for generator in ready[: workers - len(running)]:
            pending.remove(generator)
            receiver, sender = fork.Pipe(duplex=False)
            inherited = [*running, receiver, *(w.pipe for w in writers or ())]
            hand_off = generator.name in required
            process = fork.Process(
                target=_in_worker,
                args=(ctx, generator, source_urls, drops_dir, hand_off, sender, inherited),
                name=f"generate-{generator.name}",
                daemon=False,  # it starts a writer process of its own
            )
            process.start()
            sender.close()
            running[receiver] = (generator, process)
        if not running:
            raise RuntimeError(f"generators wait for each other: {[g.name for g in pending]}")
        for ready_conn in wait(list(running)):
            assert isinstance(ready_conn, Connection)
            receiver = ready_conn
            generator, process = running[receiver]
            try:
                message = receiver.recv()
            except EOFError:
                process.join()
                message = f"the worker died (exit code {process.exitcode})"
            if isinstance(message, _Outcome):  # later generators may start
                _absorb(ctx, generator, message)
                outcomes[generator.name] = message
                continue
            del running[receiver]
            receiver.close()
            process.join()
            if message is not None:
                raise RuntimeError(f"generating {generator.name!r} failed:\n{message}")


def generate_sources(
    config: GeneratorConfig,
    source_urls: Mapping[str, str],
    drops_dir: Path,
    *,
    registry: ServiceRegistry | None = None,
    workers: int = 1,
) -> GenerationManifest:
    """Create every service's tables at its URL, fill them, write the drops and the manifest.

    Existing tables of the services are dropped and recreated. Drop files with the same name
    are overwritten; other files under ``drops_dir`` are left alone. The manifest is written
    to ``drops_dir / "synthetic_manifest.json"`` and returned. ``workers`` > 1 runs
    independent generators in that many forked processes at once (where ``fork`` exists);
    the output is the same bytes whatever the number.
    """
    registry = registry or default_registry()
    missing = [name for name in registry.service_names if name not in source_urls]
    if missing:
        raise ValueError(
            f"no source URL for service(s) {missing}; expected keys {list(registry.service_names)}"
        )
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 1  # pragma: no cover - the workers inherit the context by forking
    drops_dir = Path(drops_dir)
    drops_dir.mkdir(parents=True, exist_ok=True)

    ctx = GenerationContext.create(config)
    generators: list[Generator] = [*registry.services, *registry.drops]
    with _no_cycle_collection():
        outcomes = _schedule(ctx, generators, source_urls, drops_dir, workers)

    row_counts: dict[str, int] = {}
    services: dict[str, list[str]] = {}
    for service in registry.services:
        counts = outcomes[service.name].counts
        services[service.name] = list(counts)
        row_counts.update(counts)
    drops: dict[str, str] = {}
    for drop in registry.drops:
        output = outcomes[drop.name].drop
        assert output is not None
        row_counts[drop.name] = output.rows
        drops[drop.name] = output.path.relative_to(drops_dir).as_posix()

    manifest = GenerationManifest(
        config=config,
        row_counts=row_counts,
        defects=[d for g in generators for d in outcomes[g.name].defects],
        services=services,
        drops=drops,
        third_party_names=sorted(set(ctx.shared.get("third_party_names", []))),
    )
    manifest.write(drops_dir / MANIFEST_FILENAME)
    return manifest
