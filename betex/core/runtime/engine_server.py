"""The engine process's core: a Runtime (engine + WAL threads) served over the IPC channel.

No HTTP and no JSON: gateways connect to a Unix socket (`ipc.EngineListener`) and send batches
of typed commands; each batch goes into the runtime's ring under one lock (`submit_many` with a
`ReplyBatch`), and its replies go back as one frame once every command of it is committed. So
the runtime's contract carries over unchanged: **durable before reply** (the WAL thread calls
the batch's `done` only after the commit), and replies in command order per connection (frames
of one connection enter the FIFO ring in order, and one frame is answered by one frame).

Threads: the caller of `serve` is the ingress thread (waits on the sockets per the wait
strategy, publishes, writes replies); the runtime adds its engine and WAL threads. Replies made
on the WAL thread are handed over through a deque plus `EngineListener.wake()`.

Back-pressure: when the ring is full, the ingress thread keeps the rest of the frame, stops
reading sockets and retries; the gateways' windows then close and they stop reading their
clients. Nothing is dropped and nothing is answered OVERLOADED here (the gateway answers an
acked command OVERLOADED when its own window is full).

Committed events: a runtime handler hands each committed batch to the ingress thread, which
publishes it to every gateway (`EngineListener.publish`: one msgpack call per batch). A frame's
replies are released only once the events up to the WAL seq committed with them have been
queued, so on each connection the events come before the replies that depend on them.

If the runtime fails (fail-stop), every connection gets a last `failed` frame with the cause and
is closed, so gateways see `ChannelClosed`
and answer OVERLOADED/503 until an engine is back; `serve` then re-raises the failure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from betex.core.domain.events import Event
from betex.core.domain.results import Result
from betex.core.runtime.ipc import EngineListener, Incoming, encode_failed, encode_metrics
from betex.core.runtime.loop import ReplyBatch, Runtime, RuntimeStopped

log = logging.getLogger(__name__)

_IDLE_WAIT_S = 0.05
STAGES_INTERVAL_S = 0.05
"""Counters go to the gateways before every reply flush; the stage histograms at most this often."""
_RING_FULL_PAUSE_S = 0.0005


class EngineServer:
    """Serve `runtime` on the Unix socket `path` until `stop` is set (see the module doc)."""

    def __init__(
        self,
        runtime: Runtime,
        path: str | Path,
        wait_strategy: str | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        """`max_in_flight`: drop a gateway with more un-replied commands (it ignored its window)."""
        self.runtime = runtime
        self.listener = EngineListener(path, wait_strategy or runtime.ring.wait_strategy, max_in_flight)
        # (frame, its results or the failure, WAL seq committed with it), or (None, events, 0)
        self._outbox: deque[tuple[Incoming | None, list[Result] | BaseException | Sequence[Event], int]] = (
            deque()
        )
        self._held: deque[tuple[Incoming, list[Result], int]] = deque()  # replies awaiting their events
        self.listener.published_seq = runtime.journal.last_seq
        self.listener.hello_state = self._hello_state
        runtime.add_handler(self._on_events)
        # frames taken but not yet (wholly) in the ring: (frame, commands already in, its replies)
        self._backlog: deque[tuple[Incoming, int, ReplyBatch]] = deque()
        self.failed: BaseException | None = None
        self._stages_sent_at = 0.0
        self._metrics_at = (-1, -1)

    def _hello_state(self) -> dict[str, Any]:
        """The API keys (key_id → account, hash, revoked) for a connecting gateway: they are not
        in its read model, and a gateway must know every key before it serves. Copied on the
        ingress thread while the engine thread may add one (a dict copy is atomic under the GIL);
        a key the copy has but whose event is not yet committed is harmless (nobody holds it
        before its ACK, which follows the commit), and the stream carries every later change."""
        keys = dict(self.runtime.engine.keys)
        return {"keys": [(k, *v) for k, v in keys.items()]}

    @property
    def path(self) -> Path:
        return self.listener.path

    def _on_events(self, events: Sequence[Event]) -> None:  # runtime handler, on the WAL thread
        if events:
            self._outbox.append((None, events, 0))
            self.listener.wake()

    def _done_callback(self, inc: Incoming) -> ReplyBatch:
        outbox, wake, journal = self._outbox, self.listener.wake, self.runtime.journal

        def done(results: list[Result] | BaseException) -> None:  # on the WAL thread
            outbox.append((inc, results, journal.last_seq))
            wake()

        return ReplyBatch(len(inc.commands), done)

    def _publish_backlog(self) -> bool:
        """Publish taken frames in order; False if the ring filled up (the rest stays queued)."""
        backlog, submit_many = self._backlog, self.runtime.submit_many
        while backlog:
            inc, start, reply = backlog[0]
            cmds = inc.commands if start == 0 else inc.commands[start:]
            n = submit_many(cmds, reply)
            if n < len(cmds):
                backlog[0] = (inc, start + n, reply)
                return False
            backlog.popleft()
        return True

    def _send_replies(self) -> None:
        outbox, listener, held = self._outbox, self.listener, self._held
        while outbox:
            inc, results, seq = outbox.popleft()
            if inc is None:
                events: Sequence[Event] = results  # type: ignore[assignment]
                listener.publish(events[-1].seq, events)
                continue
            if isinstance(results, BaseException):
                self.failed = results
                continue
            held.append((inc, results, seq))  # type: ignore[arg-type]
        published = listener.published_seq
        if held and held[0][2] <= published:
            self._send_metrics()  # before the replies: a gateway's /metrics counts them
        while held and held[0][2] <= published:
            inc, res, _seq = held.popleft()
            listener.reply(inc, res)
        listener.flush()

    def _send_metrics(self, stages: bool = False) -> None:
        """Mirror the runtime's counters to the gateways (they serve /metrics) before replies,
        so a client that got a reply sees it counted; the histograms at most every 50 ms, and
        always with `stages` (once traffic stops: the last batches' latencies must not be
        left out of a gateway's histograms until the next command)."""
        m = self.runtime.metrics
        state: dict[str, Any] = {
            "counters": [
                m.commands_total,
                m.events_total,
                m.batches,
                m.handler_errors,
                m.snapshots,
                m.snapshot_errors,
            ],
            "rejects": m.rejects_by_code(),
            "gauges": {name: fn() for name, fn in m._gauges.items()},  # noqa: SLF001
            "info": dict(m._info),  # noqa: SLF001
        }
        now = time.monotonic()
        if stages or now - self._stages_sent_at >= STAGES_INTERVAL_S:
            state["stages"] = {n: (h.counts, h.count, h.total, h.max) for n, h in m.stages.items()}
            self._stages_sent_at = now
        self.listener.broadcast(encode_metrics(state))
        self._metrics_at = (m.batches, self.runtime.ring.depth)

    def serve(self, stop: threading.Event, max_batch: int | None = None) -> None:
        """Run the ingress loop on this thread until `stop` is set, then drain and stop the runtime.

        Everything already accepted is committed and answered before this returns (as far as
        the gateways still read). Raises the runtime's failure if it failed.
        """
        listener, runtime = self.listener, self.runtime
        max_batch = max_batch or runtime.max_batch
        if not runtime.running:
            runtime.start()
        try:
            backlog = self._backlog
            while not stop.is_set() and self.failed is None and runtime.failed is None:
                if backlog and not self._publish_backlog():
                    self._send_replies()  # the ring is full: read no more input for now
                    time.sleep(_RING_FULL_PAUSE_S)
                    continue
                if listener.wait(_IDLE_WAIT_S):
                    for inc in listener.take(max_batch):
                        backlog.append((inc, 0, self._done_callback(inc)))
                    self._publish_backlog()
                elif self._metrics_at != (runtime.metrics.batches, runtime.ring.depth):
                    self._send_metrics(stages=True)  # quiet now: the gateways get the final figures
                    listener.flush()
                self._send_replies()
        except RuntimeStopped:
            pass
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        runtime, listener = self.runtime, self.listener
        failed = self.failed or runtime.failed
        if failed is None:
            runtime.stop(timeout=60)  # commits and answers what was accepted
            self._send_replies()
            while self._held:  # nothing more will be published: their events are durable
                inc, res, _seq = self._held.popleft()
                listener.reply(inc, res)
            listener.flush()
            deadline = time.monotonic() + 5
            while listener.pending_out() and time.monotonic() < deadline:
                listener.wait(0.01)
                listener.flush()
        else:  # tell the gateways why before they see the connection close (their /health says it)
            listener.broadcast(encode_failed(str(failed)))
            listener.flush()
        listener.close()
        failed = self.failed or runtime.failed
        if failed is not None:
            raise RuntimeStopped(f"engine failed: {failed}") from failed
