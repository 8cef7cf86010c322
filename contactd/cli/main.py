"""The `contactd` command: run the daemon, migrate, check the configuration, manage staff,
classify, train and evaluate the case-type model, advise on staffing, report on service goals
and on improvement, and play what-ifs offline. Exit status: 0 success, 1 a runtime failure
(database unreachable, port taken, ...), 2 bad configuration or bad command-line usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import structlog
from aiohttp import web

import simulator
from classifier.corpus import Example
from contactd import __version__, logs, settings
from contactd.app import create_app
from contactd.cli import classifier as cli_classifier
from contactd.cli import demo, improvement, whatif
from contactd.cli import report as report_cli
from contactd.clock import Clock, ClockError, from_environment, wall_clock
from contactd.http import serving
from contactd.services import statistics
from contactd.store import audit, database, embedded, migrations, staff
from contactd.store.staff import Role
from simulator import mix

log = structlog.get_logger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    sys.exit(run_cli(argv))


def run_cli(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = settings.load(args.config)
    except settings.ConfigError as exc:
        print(f"contactd: bad configuration:\n{exc}", file=sys.stderr)
        return 2
    overrides = {
        k: v for k in ("host", "port", "data_dir") if (v := getattr(args, k, None)) is not None
    }
    try:
        config = config.with_overrides(**overrides)
    except settings.ConfigError as exc:
        print(f"contactd: bad option:\n{exc}", file=sys.stderr)
        return 2
    try:  # the one clock of every command (docs/reference/clock.md)
        clock = from_environment(os.environ)
    except ClockError as exc:
        print(f"contactd: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        queues = ", ".join(q.code for q in config.queues)
        print(f"{config.path}: ok ({len(config.case_types)} case types; queues {queues})")
        return 0
    daemon = args.command == "run"
    logs.configure(
        format=config.daemon.log_format,
        level=config.daemon.log_level,
        stream=sys.stdout if daemon else sys.stderr,
    )
    try:
        return _dispatch(config, args, clock)
    except BrokenPipeError:
        # The reader of the output went away (`contactd report | head`): what it read is
        # all it wanted. Stdout to /dev/null, so that the flush at exit does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (
        database.DatabaseUnavailable,
        embedded.EmbeddedError,
        migrations.MigrationError,
        OSError,
    ) as exc:
        print(f"contactd: {exc}", file=sys.stderr)
        return 1
    except asyncpg.PostgresError as exc:
        print(f"contactd: the database refused: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(config: settings.Settings, args: argparse.Namespace, clock: Clock) -> int:
    if args.command == "run":
        return asyncio.run(_serve(config, clock))
    if args.command == "demo":
        return demo.main(
            config,
            demo.DemoOptions(
                speed=args.speed, data_dir=args.demo_data_dir, port=args.demo_port, seed=args.seed
            ),
        )
    if args.command == "simulate":
        return asyncio.run(simulator.command(_simulation(args)))
    if args.command == "staffing":
        return asyncio.run(_staffing(config, clock()))
    if args.command == "report":
        return asyncio.run(report_cli.run(config, args, clock(), lambda: _admin_database(config)))
    if args.command == "improvement":
        return improvement.run(config, args, clock, lambda: _admin_database(config))
    if args.command == "whatif":  # the database only for its history and agent profiles
        return whatif.run(config, args, clock, lambda: _admin_database(config))
    if args.command in {"classify", "train", "evaluate"}:

        async def feedback() -> list[Example]:
            async with _admin_database(config) as conn:
                return await cli_classifier.read_feedback(conn)

        return cli_classifier.run(config, args, feedback)
    return asyncio.run(_admin(config, args, clock()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contactd", description=" ".join(__doc__.split()))
    parser.add_argument("--version", action="version", version=f"contactd {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        help="contactd.toml (default: $CONTACTD_CONFIG, else config/ of the source tree, "
        "else /etc/contactd/contactd.toml)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--data-dir",
            type=Path,
            help="the embedded PostgreSQL's data (when CONTACTD_DATABASE_URL is not set) and "
            "the case-type model",
        )
        return p

    run = with_data_dir(sub.add_parser("run", help="run the daemon"))
    run.add_argument("--host", help="address to serve HTTP on")
    run.add_argument("--port", type=int, help="port to serve HTTP on (0: any free port)")
    with_data_dir(sub.add_parser("migrate", help="apply database migrations and exit"))
    sub.add_parser("check-config", help="validate the configuration and exit")

    staff_cmd = sub.add_parser("staff", help="manage staff sign-in")
    staff_sub = staff_cmd.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = with_data_dir(staff_sub.add_parser("add", help="add a person; prints their token once"))
    add.add_argument("login")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    with_data_dir(staff_sub.add_parser("list", help="list staff"))
    for action, what in (
        ("disable", "disable a person at once"),
        ("token", "issue a new token (the old one stops working)"),
        ("enable", "enable a disabled person with a new token"),
    ):
        with_data_dir(staff_sub.add_parser(action, help=what)).add_argument("login")
    cli_classifier.add_parsers(sub, with_data_dir)
    with_data_dir(
        sub.add_parser(
            "staffing", help="agents needed now per queue (Erlang C and A), from live traffic"
        )
    )
    with_data_dir(report_cli.add_parser(sub))
    with_data_dir(improvement.add_parser(sub))
    with_data_dir(whatif.add_parser(sub))  # --history and --staff-from-db read the database
    _demo_parsers(sub)
    return parser


def _demo_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # demo's --data-dir and --port have their own names: run_cli would apply `data_dir` and
    # `port` to the loaded configuration, while the demo has defaults of its own (a data
    # directory apart from the daemon's).
    demo_cmd = sub.add_parser(
        "demo",
        help="the daemon with demo staff and a simulated agency day, sped up, live in the terminal",
    )
    demo_cmd.add_argument(
        "--speed", type=float, default=60, help="simulated seconds per second (default 60: "
        "the day 07:00-17:00 takes 10 minutes)"
    )  # fmt: skip
    demo_cmd.add_argument(
        "--data-dir",
        dest="demo_data_dir",
        metavar="DIR",
        type=Path,
        help="the demo's PostgreSQL, model, log (contactd.log), tokens (demo-tokens.txt) and "
        "the day it played (demo-last-day) "
        "(default: the user's data dir, contactd-demo; contactd-demo-<folder> for another config)",
    )
    demo_cmd.add_argument(
        "--port",
        dest="demo_port",
        metavar="PORT",
        type=int,
        default=8080,
        help="HTTP port (0: any free port)",
    )
    demo_cmd.add_argument("--seed", type=int, help="the same seed plays the same traffic")
    sim = sub.add_parser(
        "simulate", help="drive a running contactd with simulated clients and caseworkers"
    )
    sim.add_argument("--url", default="http://127.0.0.1:8080", help="where contactd serves HTTP")
    sim.add_argument("--token", required=True, help="an admin's token (makes the staff it needs)")
    sim.add_argument(
        "--twilio-token", help="the deployment's Twilio auth token; without it, no calls"
    )
    sim.add_argument(
        "--public-url", help="CONTACTD_PUBLIC_URL of the deployment, which Twilio signs "
        "(default: --url)"
    )  # fmt: skip
    sim.add_argument(
        "--rate", type=float, default=mix.AVERAGE_RATE, help="contacts per simulated minute, "
        f"all channels (default {mix.AVERAGE_RATE:.2f}: the agency's average day)"
    )  # fmt: skip
    sim.add_argument(
        "--duration", type=float, help="wall-clock seconds to run (default: until Ctrl-C)"
    )
    sim.add_argument(
        "--speed", type=float, default=1, help="simulated seconds per second (default 1)"
    )
    sim.add_argument("--agents", type=int, default=12, help="simulated caseworkers (default 12)")
    sim.add_argument("--seed", type=int, help="the same seed draws the same traffic")
    sim.add_argument(
        "--day", action="store_true", help="play 07:00-17:00 with the morning peak, then stop"
    )
    sim.add_argument(
        "--report-every", type=float, default=10, help="seconds between status lines (0: none)"
    )


def _simulation(args: argparse.Namespace) -> simulator.Options:
    return simulator.Options(
        url=args.url,
        admin_token=args.token,
        rate=args.rate,
        duration=args.duration,
        speed=args.speed,
        agents=args.agents,
        seed=args.seed,
        twilio_token=args.twilio_token,
        public_url=args.public_url,
        day=args.day,
        report_every=args.report_every,
    )


async def _serve(config: settings.Settings, clock: Clock) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if clock is not wall_clock:
        log.warning("daemon.simulated_clock", starts_at=clock().isoformat())
    app = create_app(config, clock=clock)
    grace = config.daemon.shutdown_grace_seconds
    runner = await serving.set_up(app, stop, shutdown_seconds=grace)
    if runner is None:
        log.info("daemon.stopped", during="startup")
        return 130
    try:
        site = web.TCPSite(runner, config.daemon.host, config.daemon.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"contactd {__version__} ready on http://{shown}:{port}", flush=True)
        log.info("daemon.ready", host=host, port=port)
        await stop.wait()
        log.info("daemon.stopping")
    finally:
        await runner.cleanup()
    log.info("daemon.stopped")
    return 0


@contextlib.asynccontextmanager
async def _admin_database(config: settings.Settings) -> AsyncIterator[database.Conn]:
    """A migrated connection for a CLI command: to CONTACTD_DATABASE_URL, or to the embedded
    server in the data directory, started for the command if no daemon runs there."""
    async with contextlib.AsyncExitStack() as stack:
        url = config.database_url
        if url is None:
            data_dir = config.daemon.data_dir or embedded.default_data_dir()
            if stack.enter_context(embedded.data_dir_lock(data_dir)):
                # No daemon runs on this data directory: we own the server while we work.
                url = await embedded.start_owned(stack, data_dir)
            else:
                url = (await asyncio.to_thread(embedded.start, data_dir)).url
        pool = await database.wait_for_pool(
            url,
            min_size=1,
            max_size=1,
            give_up_after=config.database.connect_timeout_seconds,
            statement_timeout=config.database.statement_timeout_seconds,
        )
        stack.push_async_callback(pool.close)
        await migrations.migrate_database(url)
        async with pool.acquire() as conn:
            yield conn


async def _staffing(config: settings.Settings, now: datetime) -> int:
    async with _admin_database(config) as conn:
        snap = await statistics.snapshot(
            conn, statistics.StatisticsConfig.from_settings(config), now
        )
    rows = list(statistics.table(snap))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:  # names left, figures right
        cells = zip(row, widths, strict=True)
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(cells)))
    return 0


async def _admin(config: settings.Settings, args: argparse.Namespace, now: datetime) -> int:
    async with _admin_database(config) as conn:
        if args.command == "migrate":
            print(f"database at schema version {migrations.latest_version()}")
            return 0
        try:
            return await _staff(conn, args, now, timedelta(days=config.auth.token_days))
        except staff.StaffError as exc:
            print(f"contactd: {exc}", file=sys.stderr)
            return 1


async def _staff(
    conn: database.Conn, args: argparse.Namespace, now: datetime, token_lasts: timedelta
) -> int:
    ends = now + token_lasts  # a token issued here works this long
    match args.staff_command:
        case "add":
            person, token = await staff.add(
                conn,
                login=args.login,
                name=args.name,
                role=Role(args.role),
                now=now,
                expires_at=ends,
            )
            print(f"added {person.login} ({person.role}); token, shown only now:\n{token}")
        case "token":
            person, token = await staff.replace_token(conn, args.login, now=now, expires_at=ends)
            print(f"new token for {person.login}, shown only now (the old one no longer works):")
            print(token)
        case "enable":
            person, token = await staff.enable(conn, args.login, now=now, expires_at=ends)
            print(f"enabled {person.login}; new token, shown only now (the old one never works):")
            print(token)
        case "disable":
            person = await staff.disable(conn, args.login, now=now)
            print(f"disabled {person.login}")
        case "list":
            for p in await staff.list_all(conn):
                state = "disabled" if p.disabled_at else "active"
                print(f"{p.login}\t{p.role}\t{state}\t{p.name}")
            return 0
    action = {"add": "staff.added", "token": "staff.token_issued"}.get(args.staff_command)
    await audit.write(
        conn,
        at=now,
        actor="cli",
        action=action or f"staff.{args.staff_command}d",
        target=args.login,
    )
    return 0
