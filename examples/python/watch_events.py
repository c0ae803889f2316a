#!/usr/bin/env python3
"""Watch one Accord project's live events over NATS, with nothing but its API key.

    pip install nats-py==2.16.0
    python watch_events.py --server nats://127.0.0.1:4222 --token "$ACCORD_TOKEN" --project prj-01…

The API key is the NATS *token*. The server asks the provisioner about it (auth callout) and
lets the connection SUBSCRIBE to `accord.evt.<the key's project id>.>` and nothing else, for a
grant that lasts a minute or so; when the grant ends the server closes the connection and this
program connects again with the same key (a revoked key is then refused). `accord whoami` prints
the project id.

Each event is a CloudEvents 1.0 JSON document (specversion, id, source, type
`accord.<resource>.<event>.v1`, subject = the resource id, time, data, project, traceparent).
One line per event on stdout: `TIME TYPE SUBJECT PROJECT`, or with `--json` the event itself as
one compact JSON line. Progress and errors go to stderr; after the subscription is in place it
prints `subscribed to accord.evt.<project>.> on <server>`.

Live only: events published while the program is not connected (before it starts, between two
grants) are not replayed; a key cannot read the event stream (JetStream), only an operator's
nkey can (`accord --profile operator events watch --all`).

Exit status: 0 after `--count` events or on Ctrl-C/SIGTERM; 1 when the server refuses the token
("Authorization Violation") or the subscription ("Permissions Violation": not the key's project),
or cannot be reached within `--connect-timeout`; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

PROG = "watch_events"
T = TypeVar("T")


class Fatal(Exception):
    """The watch cannot go on (the server refused the token or the subscription, or is away)."""


def log(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def render(event: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return " ".join(str(event.get(k) or "-") for k in ("time", "type", "subject", "project"))


class Watcher:
    def __init__(self, args: argparse.Namespace) -> None:
        self.server: str = args.server
        self.token: str = args.token
        self.subject = f"accord.evt.{args.project}.>"
        self.as_json: bool = args.json
        self.count: int | None = args.count
        self.connect_timeout: float = args.connect_timeout
        self.printed = 0
        self.stop = asyncio.Event()  # --count reached, a signal, or a failure
        self.failure: str | None = None
        self.last_error = ""
        self.nc: Client | None = None  # the current connection

    def fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
        self.stop.set()

    async def on_error(self, err: Exception) -> None:
        text = str(err) or type(err).__name__
        lowered = text.lower()  # nats-py lowercases the server's errors once connected
        if "authorization violation" in lowered or isinstance(err, nats.errors.AuthorizationError):
            self.fail(f"the server refused the token (Authorization Violation): {self.server} "
                      "takes an Accord API key that is not revoked as the token")
        elif "permissions violation" in lowered:
            self.fail(f"the server refused the subscription ({text.removeprefix('nats: ')}): "
                      "a key may only subscribe to accord.evt.<its project id>.> "
                      "(`accord whoami` prints the id)")
        else:
            self.last_error = text
            log(text)

    async def on_message(self, msg: Msg) -> None:
        if self.stop.is_set():
            return
        try:
            event = json.loads(msg.data)
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            log(f"skipping a message on {msg.subject} that is not a CloudEvent: {e}")
            return
        print(render(event, self.as_json), flush=True)
        self.printed += 1
        if self.count is not None and self.printed >= self.count:
            self.stop.set()

    async def until(self, aw: Awaitable[T], what: str, timeout: float | None) -> T | None:
        """`aw`'s result, or None when the watch stopped first; Fatal on a failure or timeout."""
        task = asyncio.ensure_future(aw)
        stopped = asyncio.ensure_future(self.stop.wait())
        done, _ = await asyncio.wait({task, stopped}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if task in done and self.failure is None:
            return task.result()
        task.cancel()
        if self.failure is not None:
            raise Fatal(self.failure)
        if stopped in done:
            return None
        last = f" (last error: {self.last_error})" if self.last_error else ""
        raise Fatal(f"{what} took longer than {timeout:g} s{last}")

    async def session(self, first: bool) -> None:
        """Connects, subscribes and returns when the connection has ended or the watch stopped."""
        closed = asyncio.Event()

        async def on_closed() -> None:
            closed.set()

        async def on_disconnected() -> None:
            if not self.stop.is_set():
                log("disconnected; events published until the reconnection are missed")

        async def on_reconnected() -> None:
            log(f"reconnected to {self.server}")

        nc = await self.until(
            nats.connect(self.server, token=self.token, name="accord-watch-events-py",
                         error_cb=self.on_error, closed_cb=on_closed,
                         disconnected_cb=on_disconnected, reconnected_cb=on_reconnected,
                         max_reconnect_attempts=-1),
            f"connecting to {self.server}", self.connect_timeout)
        if nc is None:
            return
        self.nc = nc
        await nc.subscribe(self.subject, cb=self.on_message)
        # The server answers the flush's PING after the SUB: a refused subscription is known here.
        await self.until(nc.flush(timeout=int(self.connect_timeout)), "subscribing",
                         self.connect_timeout)
        log(f"{'subscribed' if first else 'subscribed again'} to {self.subject} on {self.server}")
        await self.until(closed.wait(), "the connection", None)
        if not self.stop.is_set() and nc.last_error is not None:
            # The grant expired ("User Authentication Expired") or the server went away for good.
            log(f"the connection ended ({nc.last_error}); connecting again")

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop.set)
            except (NotImplementedError, RuntimeError):
                pass  # not on this platform: Ctrl-C raises KeyboardInterrupt instead
        first = True
        try:
            while not self.stop.is_set():
                await self.session(first)
                first = False
        except Fatal as e:
            log(str(e))
            return 1
        finally:
            if self.nc is not None and not self.nc.is_closed:
                await self.nc.close()
        return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default=os.environ.get("ACCORD_NATS_URL", "nats://127.0.0.1:4222"),
                   help="NATS URL (default: $ACCORD_NATS_URL or nats://127.0.0.1:4222)")
    p.add_argument("--token", default=os.environ.get("ACCORD_TOKEN"),
                   help="the Accord API key (default: $ACCORD_TOKEN)")
    p.add_argument("--project", default=os.environ.get("ACCORD_PROJECT"),
                   help="the key's project id, prj-… (default: $ACCORD_PROJECT; `accord whoami`)")
    p.add_argument("--json", action="store_true", help="print each event as one JSON line")
    p.add_argument("--count", type=int, metavar="N", help="exit after N events")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="give up when the server cannot be reached this long (default: 10)")
    args = p.parse_args(argv)
    if not args.token:
        p.error("no API key: pass --token or set ACCORD_TOKEN")
    if not args.project:
        p.error("no project id: pass --project or set ACCORD_PROJECT (`accord whoami` prints it)")
    if any(c in args.project for c in ".*> \t\r\n"):
        p.error(f"{args.project!r} is not a project id (prj-…)")
    if args.count is not None and args.count < 1:
        p.error("--count must be at least 1")
    return args


def main() -> int:
    args = parse_args(sys.argv[1:])
    try:
        return asyncio.run(Watcher(args).run())
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
