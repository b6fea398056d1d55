"""Reply-latency recording in an HDR histogram (microsecond resolution, 3 significant digits).

Open-loop measurement avoids coordinated omission: the caller records `reply_time -
scheduled_send_time`, where the schedule is fixed in advance by the target rate, so a stall
in the sender or the server shows up as latency for every command it delayed instead of
silently lowering the send rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hdrh.histogram import HdrHistogram

_MAX_US = 3_600_000_000  # one hour


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Percentiles in milliseconds; all zero when nothing was recorded."""

    count: int
    p50: float
    p99: float
    p999: float
    max: float
    mean: float

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


class LatencyRecorder:
    def __init__(self) -> None:
        self.hist = HdrHistogram(1, _MAX_US, 3)

    def record_us(self, micros: float) -> None:
        self.hist.record_value(min(_MAX_US, max(1, int(micros))))

    def record_s(self, seconds: float) -> None:
        self.record_us(seconds * 1e6)

    @property
    def count(self) -> int:
        return int(self.hist.get_total_count())

    def reset(self) -> None:
        self.hist.reset()

    def summary(self) -> LatencySummary:
        h = self.hist
        if h.get_total_count() == 0:
            return LatencySummary(0, 0.0, 0.0, 0.0, 0.0, 0.0)

        def ms(v: float) -> float:
            return round(v / 1000.0, 3)

        return LatencySummary(
            count=int(h.get_total_count()),
            p50=ms(h.get_value_at_percentile(50.0)),
            p99=ms(h.get_value_at_percentile(99.0)),
            p999=ms(h.get_value_at_percentile(99.9)),
            max=ms(h.get_max_value()),
            mean=ms(h.get_mean_value()),
        )
