"""The ``auction`` command: ``serve``, ``demo``, ``verify``, ``witness``, ``config``,
``docs``, ``bank`` and ``bench``."""

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import os
import secrets
import signal
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from engine.api import Engine, EngineError
from web import bank_cli
from web.app import create_app, make_runner
from web.config import OPTIONS, ConfigError, Settings, check, write_reference
from web.keys import ENGINE
from web.logs import configure as configure_logging
from web.ws import front_site

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="auction", description=(
        "Electronic auction and bidding engine for public resource trading centers."))
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (embedded backend by default)")
    demo = sub.add_parser("demo", help="run the server with a demo session and simulated bidders")
    for p in (serve, demo):
        for option in OPTIONS:  # the settings that have a flag (docs/configuration.md)
            if option.flag is not None:
                p.add_argument(option.flag, dest=option.key, default=None,
                               metavar=option.key.split("_")[-1].upper(),
                               help=f"{option.help} (or {option.env})")
        p.add_argument("--config", type=Path, default=None,
                       help="JSON configuration file: any setting by its key (or "
                            "AUCTION_CONFIG)")
    demo.add_argument("--fast", action="store_true",
                      help="lots of a few seconds; exit when every lot has ended")
    bench = sub.add_parser("bench", help="measure every figure of the benchmarks beside "
                                         "the machine's ceilings; print one JSON object")
    bench.add_argument("--quick", action="store_true",
                       help="smaller numbers, done within 60 seconds")
    bench.add_argument("--backend", choices=("embedded", "redis"), default="embedded",
                       help="the backend to measure (redis: its own Redis and Postgres)")
    demo.add_argument("--export", type=Path, default=None, metavar="DIR",
                      help="when the lots have ended, write each lot's verifiable export "
                           "into DIR")
    verify = sub.add_parser("verify", help="verify a lot's export offline: hash chain, "
                                           "replay through the rules, outcome")
    verify.add_argument("file", type=Path, help="the export (GET /api/lots/LOT/export)")
    verify.add_argument("--receipts", type=Path, default=None, metavar="FILE",
                        help="a bidder's receipts file (saved from its room page): prove "
                             "that each receipt's action is in the export")
    verify.add_argument("--witness", type=Path, action="append", default=[], metavar="DIR",
                        help="a directory written by `auction witness`: the export must "
                             "agree with every chain head it saw (may be repeated)")
    witness = sub.add_parser("witness", help="follow a server's public feed and keep the "
                                             "chain heads it announces, with this clock")
    witness.add_argument("url", help="the server's address, e.g. https://auction.example")
    witness.add_argument("--out", type=Path, required=True, help="where to write the heads")
    witness.add_argument("--duration", type=float, default=None, metavar="S",
                         help="stop after S seconds (default: until Ctrl-C)")
    config = sub.add_parser("config", help="check the configuration, or write its "
                                           "reference page (docs/configuration.md)")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    config_check = config_sub.add_parser(
        "check", help="print the effective configuration (secrets masked), where each "
                      "value came from and every problem; exit 1 on a problem")
    config_check.add_argument("--config", type=Path, default=None,
                              help="JSON configuration file (or AUCTION_CONFIG)")
    config_docs = config_sub.add_parser(
        "docs", help="rewrite docs/configuration.md from the settings (web/config.py)")
    config_docs.add_argument("--check", action="store_true",
                             help="change nothing; exit 1 if the page is stale")
    docs = sub.add_parser("docs", help="rewrite the message tables of docs/protocol.md from "
                                       "web/schemas.py")
    docs.add_argument("--check", action="store_true",
                      help="change nothing; exit 1 if the tables are stale")
    bank_cli.add_parser(sub)
    return parser


async def _start(settings: Settings) -> tuple[web.AppRunner, str]:
    app = create_app(settings)
    runner = make_runner(app)
    await runner.setup()
    site = front_site(runner, settings.host, settings.port)
    await site.start()
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
    return runner, f"http://{host}:{settings.port}"


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


#: Seconds between two full garbage collections of a serving process (at the least),
#: and between two freezes of what survived since the last one (see
#: :func:`collect_garbage`).
FULL_GC_EVERY_S = 600.0
FREEZE_EVERY_S = 0.1
#: The young collection before a freeze looks at every object still in flight, however
#: many it found before: the next one waits at least this many times as long as it
#: took, so these collections take at most 1/FREEZE_SPACING of the process's time.
FREEZE_SPACING = 25
#: After a young collection before a freeze that found no garbage, the next one comes
#: twice as late (the freezes go on meanwhile), up to this many seconds apart; one that
#: finds garbage brings them back to every freeze.
YOUNG_GC_MAX_EVERY_S = 6.4
#: ... and comes anyway once this many new tracked objects (net of those freed) were
#: frozen since the last one: what a freeze may have taken in of garbage meanwhile is
#: bounded by objects, not only by time (a burst of new connections after a quiet
#: spell).
YOUNG_GC_MAX_OBJECTS = 5_000
#: A full collection stops the process (every lot) for as long as it takes; one that is
#: due waits until the next deadline of the process is at least twice the last one's
#: length plus this many seconds away, but no longer than :data:`FULL_GC_MAX_WAIT_S`.
FULL_GC_CLEAR_S = 1.0
FULL_GC_MAX_WAIT_S = 600.0
#: New tracked objects (net of those freed) before an automatic young collection
#: (CPython's default: 700): a bound on what a burst may leave between two freezes.
YOUNG_GC_THRESHOLD = 100_000


class YoungCollections:
    """When the young collection before a freeze (``gc.collect(1)``) runs: before every
    freeze while they find garbage, twice as seldom after each that finds none (up to
    every :data:`YOUNG_GC_MAX_EVERY_S`, or sooner once :data:`YOUNG_GC_MAX_OBJECTS` new
    objects were frozen since the last), and never sooner than :data:`FREEZE_SPACING`
    times the last one's length after it."""

    def __init__(self) -> None:
        self.every = FREEZE_EVERY_S
        self.next = self.spaced = 0.0
        #: New tracked objects frozen since the last collection.
        self.frozen = 0

    def due(self, now: float, new: int) -> bool:
        """Whether to collect before the freeze at ``now``; ``new`` tracked objects were
        made (net) since the last freeze (``gc.get_count()[0]``), and are counted as
        frozen until the next collection."""
        self.frozen += new
        return now >= self.next or (self.frozen >= YOUNG_GC_MAX_OBJECTS
                                    and now >= self.spaced)

    def collected(self, started: float, took: float, found: int) -> None:
        """A collection started at ``started`` (monotonic s) took ``took`` s and freed
        ``found`` objects."""
        self.every = FREEZE_EVERY_S if found else min(2 * self.every, YOUNG_GC_MAX_EVERY_S)
        self.spaced = started + FREEZE_SPACING * took
        self.next = max(started + self.every, self.spaced)
        self.frozen = 0


async def collect_garbage(free_for: Callable[[], float | None] = lambda: None) -> None:
    """The garbage-collection policy of a serving process; ``free_for``: the seconds
    until the process's next deadline (a lot due to open, close or end a round), None
    when it has none.

    The engine keeps every lot's record in memory, so CPython's full collection scans a
    heap that grows with the day's bids; with the default policy one ran every few
    seconds under load and stalled every lot for 100-300 ms (docs/performance.md). Here
    what survives is frozen out of the collector's sight every :data:`FREEZE_EVERY_S`
    (``gc.freeze``), so the collections only look at what is new. Every
    :data:`FULL_GC_EVERY_S` a full collection runs again, which also frees the cycles
    among objects that died while frozen (closed connections); it looks at the whole
    heap and stops every lot meanwhile, so it waits for a time clear of deadlines (twice
    the last one's length and :data:`FULL_GC_CLEAR_S` more): a lot's close is never
    late for it, unless no such time came in :data:`FULL_GC_MAX_WAIT_S`.

    Before a freeze a young collection (``gc.collect(1)``) frees the cyclic garbage made
    since the last one, so that it is not frozen; it looks at everything still in
    flight (each command's coroutine, future and frame: with a thousand bidders racing,
    some 20,000 objects), and under load it found none: at every freeze it cost 2-7 ms
    ten times a second with bidders alternating and, spaced as below, up to 120 ms with
    bidders racing, for nothing. So after a collection that finds nothing the next one
    comes twice as late, up to every :data:`YOUNG_GC_MAX_EVERY_S` (the freezes go on:
    each is cheap, and the next collection looks only at what is newer than the last
    freeze), and one that finds garbage brings them back to every freeze. A collection
    comes sooner once :data:`YOUNG_GC_MAX_OBJECTS` new objects were frozen since the
    last one: what the freezes between two collections may hold of garbage is bounded
    by that (a burst of new connections after a quiet spell, whose handshakes leave
    cycles), freed by the next full collection. A collection is never sooner than
    :data:`FREEZE_SPACING` times the last one's length after it.

    Between two freezes the automatic young collections are left to every
    :data:`YOUNG_GC_THRESHOLD` new objects instead of every 700: at full load (a few
    thousand bids a second, each leaving a handful of tracked objects alive for a while:
    its record, the command's coroutine and future) the default ran about twenty young
    collections and two of the middle generation a second, each looking again at the
    objects still in flight, about 30 ms of CPU a second in all; with many bidders
    racing, a collection every 10,000 objects still cost a tenth of the CPU of each
    accepted bid. The threshold only bounds what a burst leaves between two freezes."""
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])
    last = time.monotonic()
    took = 0.0  # how long the last full collection took
    young = YoungCollections()
    while True:
        await asyncio.sleep(FREEZE_EVERY_S)
        now = time.monotonic()
        waited = now - last - FULL_GC_EVERY_S
        if waited >= 0 and (waited >= FULL_GC_MAX_WAIT_S
                            or _clear(free_for(), 2 * took + FULL_GC_CLEAR_S)):
            gc.unfreeze()
            started = time.monotonic()
            found = gc.collect()
            last = time.monotonic()
            took = last - started
            log.info("full garbage collection: %d ms, %d objects freed",
                     round(took * 1000), found)
        elif young.due(now, gc.get_count()[0]):
            found = gc.collect(1)
            young.collected(now, time.monotonic() - now, found)
        gc.freeze()


def _clear(free_for: float | None, needed: float) -> bool:
    return free_for is None or free_for >= needed


def _free_for(engine: Engine) -> Callable[[], float | None]:
    """The seconds until ``engine``'s next deadline (None: it has none)."""
    def free_for() -> float | None:
        deadline = engine.next_deadline()
        return None if deadline is None else (deadline - engine.now()) / 1000
    return free_for


async def serve(settings: Settings) -> int:
    runner, base = await _start(settings)
    where = (f"redis {settings.redis_url}, postgres {settings.postgres_dsn or 'none'}"
             if settings.redis_url else f"data in {settings.data_dir}")
    print(f"auction: serving on {base} ({where})", flush=True)
    for line in settings.describe_tokens():
        print(f"auction: {line}", flush=True)
    collector = asyncio.get_running_loop().create_task(
        collect_garbage(_free_for(runner.app[ENGINE])))
    try:
        await _until_signal()
    finally:
        collector.cancel()
        await runner.cleanup()
    return 0


async def demo(settings: Settings, fast: bool, export: Path | None = None) -> int:
    from web.demo import DEMO_PERIODS, Demo, demo_lots

    # The demo center's notices need no minimum periods (the center's own entries win),
    # and its result notices no publicity period (0 working days: they end as the lot
    # ends), so that the refunds fall due while the demo runs.
    settings = dataclasses.replace(settings, publicity_days=0,
                                   trade_periods=(*DEMO_PERIODS, *settings.trade_periods))
    if settings.bank_secret is None:  # the demo's bank signs its notifications with it
        settings = dataclasses.replace(settings, bank_secret=secrets.token_bytes(32))
    runner, base = await _start(settings)
    print(f"auction demo: server on {base} (data in {settings.data_dir})", flush=True)
    print("Deposits are paid through the bank: signed notifications to "
          "/api/bank/notifications. 保证金经银行到账通知自动确认。", flush=True)
    try:
        demo = Demo(base, settings.host_token(), fast, export_dir=export,
                    bank_secret=settings.bank_secret, data_dir=settings.data_dir,
                    supervisor_token=settings.supervisor_token())
        outcomes = await demo.run()
        print("\nEvery lot has ended. 所有标的均已结束。", flush=True)
        if not fast:
            print("The server keeps running for you to look around; Ctrl-C stops it.",
                  flush=True)
            await _until_signal()
        return 0 if len(outcomes) == len(demo_lots(fast)) and demo.ledger_at_zero else 1
    finally:
        await runner.cleanup()


def verify_file(path: Path, receipts: Path | None = None,
                witnesses: Sequence[Path] = ()) -> int:
    """``auction verify [--receipts R] [--witness DIR]... FILE``: 0 and a summary when the
    export holds (and agrees with the heads the witnesses saw, and holds every receipt's
    action), 1 and the first discrepancy (or every receipt that does not hold) when it
    does not, 2 when a file cannot be read.

    The signature algorithms are registered (:mod:`engine.signatures`), so that every
    signed action of the export is checked again."""
    from auction.verify import check_heads, verify
    from engine import signatures
    from web.witness import read_heads

    missing = next((d for d in witnesses if not d.is_dir()), None)
    if missing is not None:
        print(f"auction verify: no witness directory {missing}", file=sys.stderr)
        return 2
    try:
        data = path.read_bytes()
        receipts_data = receipts.read_bytes() if receipts is not None else None
        heads = [h for directory in witnesses for h in read_heads(directory)]
    except OSError as exc:
        print(f"auction verify: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"auction verify: cannot read: {exc}", file=sys.stderr)
        return 2
    result = check_heads(data, heads) if witnesses else verify(data)
    print(textwrap.fill(result.summary, 100, break_long_words=False), flush=True)
    if not result.ok or receipts_data is None:
        return 0 if result.ok else 1
    try:
        problems, held = signatures.check_receipts(json.loads(data), json.loads(receipts_data))
    except ValueError as exc:
        print(f"auction verify: {receipts}: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"RECEIPT NOT HELD: {problem}", flush=True)
    print(f"{held} receipt{'s' if held != 1 else ''} held by the export, "
          f"{len(problems)} not.", flush=True)
    return 1 if problems else 0


def config_check(config: Path | None) -> int:
    """``auction config check``: the effective configuration and every problem; 0 when
    there is none, 1 otherwise. Nothing is written."""
    lines, problems = check(config)
    key_width = max(len(line.key) for line in lines)
    value_width = min(48, max(len(line.value) for line in lines))
    print(f"{'setting':<{key_width}}  {'value':<{value_width}}  from")
    for line in lines:
        print(f"{line.key:<{key_width}}  {line.value:<{value_width}}  {line.source}")
    if not problems:
        print("\nno problems")
        return 0
    print(f"\n{len(problems)} problem{'s' if len(problems) > 1 else ''}:")
    for problem in problems:
        print(f"  - {problem}")
    return 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "config":
        if args.config_command == "check":
            return config_check(args.config)
        return write_reference(args.check)
    if args.command == "bench":
        from loadtests.bench import main as bench

        return bench(quick=args.quick, backend=args.backend)
    if args.command == "verify":
        return verify_file(args.file, args.receipts, args.witness)
    if args.command == "witness":
        from web.witness import main as witness

        return witness(args.url, args.out, args.duration)
    if args.command == "docs":
        from web.docs import main as docs

        return docs(args.check)
    if args.command == "bank":
        return asyncio.run(bank_cli.run(args))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    flags = {option.key: getattr(args, option.key) for option in OPTIONS
             if option.flag is not None}
    if flags["data_dir"] is None and args.command == "demo":
        flags["data_dir"] = Path(tempfile.mkdtemp(prefix="auction-demo-"))
    try:
        settings = Settings.load(config=args.config, **flags)
    except ConfigError as exc:
        print(f"auction: configuration error: {exc}", file=sys.stderr)
        return 2
    level = settings.log_level
    if args.command == "demo" and level == "info" and not os.environ.get("AUCTION_LOG_LEVEL"):
        # The demo speaks to a person: its pages and results, not a line per request.
        level = "warning"
    configure_logging(settings.log_format, level)
    run = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        run = uvloop.run
    try:
        if args.command == "serve":
            return run(serve(settings))
        return run(demo(settings, args.fast, args.export))
    except KeyboardInterrupt:
        return 130
    except (EngineError, OSError) as exc:
        print(f"auction: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
