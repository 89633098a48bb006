"""Stay-point detection, vectorised with numpy: a time-sorted track becomes stays (visits) and the moves between."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ingest.gps.geo import EARTH_M, metres, steps, travelled


@dataclass(frozen=True)
class Params:
    """Thresholds of stay-point detection."""

    radius_m: float = 100.0  # a stay's points lie this close to its centre (root mean square)
    dwell_s: float = 600.0  # the shortest stay
    window_s: float = 300.0  # motion is judged over this window around each point...
    still_m: float = 50.0  # ...and a drift of the window's halves below this is standing still
    gap_s: float = 1800.0  # a longer silence splits a move...
    bridge_s: float = 12 * 3600.0  # ...but one up to this long, ending where it began, is part of a stay
    bridge_m: float = 200.0  # (where it began: this close, as fixes before and after a silence are rough)
    merge_m: float = 150.0  # consecutive stays this close...
    merge_gap_s: float = 1800.0  # ...and this close in time are one visit
    accuracy_m: float = 250.0  # fixes less accurate than this are dropped as drift


@dataclass(frozen=True)
class Segment:
    """A stay (a visit: centre, start, end) or a move between stays; times are UTC epoch seconds."""

    kind: str  # "stay" or "move"
    start: float
    end: float
    lat: float  # a stay's centre; a move's starting point
    lon: float
    points: int = 0
    metres: float = 0.0  # a move's path length
    hint: str = ""  # a name the file gives the place (a waypoint, Google's place, Home/Work)
    mode: str = ""  # how a move went (walking, in a vehicle...), where the file says
    path: tuple[tuple[float, float], ...] = ()  # a move's track, thinned to at most PATH_POINTS (lat, lon)


PATH_POINTS = 64  # the most points of a move's track kept (enough to draw it)


def thin(lat: Sequence[float], lon: Sequence[float], most: int = PATH_POINTS) -> tuple[tuple[float, float], ...]:
    """At most `most` points of a track, evenly spaced by index, first and last kept; 5 decimals (about 1 m)."""
    n = len(lat)
    picks = range(n) if n <= most else sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})
    return tuple((round(float(lat[i]), 5), round(float(lon[i]), 5)) for i in picks)


def _groups(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of each run that starts where `flags` is True (flags[0] must be True)."""
    first = np.flatnonzero(flags)
    last = np.append(first[1:], len(flags)) - 1
    return first, last


def spikes(lat: np.ndarray, lon: np.ndarray, radius_m: float) -> np.ndarray:
    """Fixes that jump away and straight back (GPS drift): far from both neighbours, which lie close together
    (at either end of the track: far from the next fix, which lies close to the one after)."""
    out = np.zeros(len(lat), dtype=bool)
    if len(lat) > 2:
        step = steps(lat, lon)
        across = steps(lat[::2], lon[::2]), steps(lat[1::2], lon[1::2])
        skip = np.empty(len(lat) - 2)
        skip[0::2], skip[1::2] = across[0], across[1]
        out[1:-1] = (step[:-1] > radius_m) & (step[1:] > radius_m) & (skip < radius_m)
        out[0], out[-1] = step[0] > radius_m >= step[1], step[-1] > radius_m >= step[-2]  # the ends: one neighbour
    return out


def _stays(t: np.ndarray, x: np.ndarray, y: np.ndarray, still: np.ndarray, cut: np.ndarray,
           p: Params) -> tuple[np.ndarray, np.ndarray]:
    """Which runs (split by `cut`) are stays: still, long enough, within the radius; and each point's run."""
    first, last = _groups(cut)
    count = last - first + 1
    mx, my = np.add.reduceat(x, first) / count, np.add.reduceat(y, first) / count
    run = np.cumsum(cut) - 1
    rms = np.sqrt(np.add.reduceat((x - mx[run]) ** 2 + (y - my[run]) ** 2, first) / count)
    return still[first] & (t[last] - t[first] >= p.dwell_s) & (rms <= p.radius_m), run


def _anchor_cuts(x: np.ndarray, y: np.ndarray, a: int, b: int, radius: float, cut: np.ndarray) -> None:
    """Cut points a..b wherever the track gets farther than `radius` from where the current piece began
    (scanned in blocks, so the work stays linear in the run's length)."""
    at = a
    while at <= b:
        end = min(b + 1, at + 1024)
        far = np.flatnonzero(np.hypot(x[at:end] - x[a], y[at:end] - y[a]) > radius)
        if len(far):
            a = at = at + int(far[0])
            cut[a] = True
        else:
            at = end


def detect(t: np.ndarray, lat: np.ndarray, lon: np.ndarray, p: Params = Params()) -> tuple[list[Segment], np.ndarray]:
    """Stays and moves of a time-sorted track, in order, with the index of each one's first point.

    A point stands still when the mean positions of the half-windows before and after it lie close
    together, so GPS jitter averages out and walking does not. Still runs that last long enough and
    stay within the radius are stays; a silence that starts and ends at one spot (the phone off
    overnight) is bridged; nearby stays close in time are joined later, by `Merger`."""
    n = len(t)
    if n == 0:
        return [], np.zeros(0, dtype=np.int64)
    lat0 = math.radians(float(lat[n // 2]))
    x = np.radians(lon - lon[n // 2]) * (EARTH_M * math.cos(lat0))
    y = np.radians(lat - lat[n // 2]) * EARTH_M
    half, index = p.window_s / 2, np.arange(n)
    lo, hi = np.searchsorted(t, t - half, "left"), np.searchsorted(t, t + half, "right")
    cx, cy = np.concatenate(([0.0], np.cumsum(x))), np.concatenate(([0.0], np.cumsum(y)))
    back, ahead = index + 1 - lo, hi - index
    still = np.hypot((cx[index + 1] - cx[lo]) / back - (cx[hi] - cx[index]) / ahead,
                     (cy[index + 1] - cy[lo]) / back - (cy[hi] - cy[index]) / ahead) < p.still_m
    dt, step = np.diff(t), np.hypot(np.diff(x), np.diff(y))
    silent = dt > p.gap_s
    bridged = silent & (dt <= p.bridge_s) & (step <= p.bridge_m)
    still[1:] |= bridged
    still[:-1] |= bridged
    gap = silent & ~bridged
    cut = np.ones(n, dtype=bool)
    cut[1:] = (still[1:] != still[:-1]) | (still[1:] & still[:-1] & (step > p.radius_m) & ~bridged) | gap
    stay_run, run = _stays(t, x, y, still, cut, p)
    first, last = _groups(cut)
    wide = still[first] & ~stay_run & (t[last] - t[first] >= p.dwell_s)
    if wide.any():  # still but spread out (a slow walk between two stays): cut where the smoothed track leaves
        smooth_x, smooth_y = (cx[hi] - cx[lo]) / (hi - lo), (cy[hi] - cy[lo]) / (hi - lo)
        for a, b in zip(first[wide].tolist(), last[wide].tolist(), strict=True):
            _anchor_cuts(smooth_x, smooth_y, a, b, p.radius_m, cut)
        stay_run, run = _stays(t, x, y, still, cut, p)
    in_stay = stay_run[run]
    bound = np.ones(n, dtype=bool)  # segments: each stay run, and the moves between, split at silences
    bound[1:] = (in_stay[1:] != in_stay[:-1]) | (in_stay[1:] & cut[1:]) | gap
    first, last = _groups(bound)
    count = last - first + 1
    mean_lat, mean_lon = np.add.reduceat(lat, first) / count, np.add.reduceat(lon, first) / count
    joined = np.concatenate(([False], ~gap))  # joined[i]: point i follows i-1 without a silence
    before = np.where((first > 0) & joined[first], first - 1, first)
    after = np.where((last < n - 1) & joined[np.minimum(last + 1, n - 1)], last + 1, last)
    segments = []
    for i, (a, b, c) in enumerate(zip(first.tolist(), last.tolist(), count.tolist(), strict=True)):
        if in_stay[a]:
            segments.append(Segment("stay", float(t[a]), float(t[b]), float(mean_lat[i]), float(mean_lon[i]), c))
        else:
            s, e = int(before[i]), int(after[i]) + 1
            segments.append(Segment("move", float(t[s]), float(t[e - 1]), float(lat[a]), float(lon[a]), c,
                                    travelled(t[s:e], lat[s:e], lon[s:e]), path=thin(lat[s:e], lon[s:e])))
    return segments, first


class Detector:
    """Stay-point detection over a stream of point chunks, in windows of about `window` points.

    Everything before a window's last stay is final; that stay and what follows are carried into
    the next window, so memory stays bounded however long the track. Points older than what was
    already given out arrive too late and are counted in `late`."""

    def __init__(self, params: Params = Params(), window: int = 1 << 17) -> None:
        self.params, self.window = params, window
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.size, self.frontier, self.late = 0, -math.inf, 0

    def feed(self, t: np.ndarray, lat: np.ndarray, lon: np.ndarray, acc: np.ndarray) -> list[Segment]:
        """Take a chunk of points (any order); the segments that became final."""
        keep = ~(acc > self.params.accuracy_m)
        self.parts.append((t[keep], lat[keep], lon[keep]))
        self.size += int(keep.sum())
        return self._run(final=False) if self.size >= self.window else []

    def close(self) -> list[Segment]:
        """The remaining segments, at the end of the track."""
        return self._run(final=True)

    def _run(self, final: bool) -> list[Segment]:
        if not self.parts:
            return []
        t, lat, lon = (np.concatenate(column) for column in zip(*self.parts, strict=True))
        if len(t) > 1 and not bool(np.all(t[1:] >= t[:-1])):
            order = np.argsort(t, kind="stable")
            t, lat, lon = t[order], lat[order], lon[order]
        fresh = t >= self.frontier
        self.late += int(len(t) - fresh.sum())
        keep = fresh & ~spikes(lat, lon, self.params.radius_m)
        t, lat, lon = t[keep], lat[keep], lon[keep]
        segments, first = detect(t, lat, lon, self.params)
        out, carry = segments, len(t)
        if not final and segments:
            stays = [i for i, s in enumerate(segments) if s.kind == "stay"]
            hold = stays[-1] if stays else len(segments) - 1
            out, carry = segments[:hold], int(first[hold])
            if len(t) - carry > self.window // 2:  # too long to carry whole: keep only the recent past
                keep = self.params.dwell_s + self.params.window_s
                cut = max(int(np.searchsorted(t, t[-1] - 2 * keep)), 1)
                hold = int(np.searchsorted(first, cut, "right")) - 1
                out = segments[:hold] + detect(t[first[hold]:cut], lat[first[hold]:cut], lon[first[hold]:cut],
                                               self.params)[0]
                carry = cut  # a stay cut here goes on in the next window, and Merger joins the two
        self.parts = [(t[carry:], lat[carry:], lon[carry:])] if carry < len(t) else []
        self.size = len(t) - carry
        self.frontier = float(t[carry]) if carry < len(t) else (float(t[-1]) if len(t) else self.frontier)
        return out


def _close_by(a: Segment, b: Segment, p: Params) -> bool:
    return metres(a.lat, a.lon, b.lat, b.lon) <= p.merge_m and b.start - a.end <= p.merge_gap_s


def _joined(a: Segment, b: Segment) -> Segment:
    wa, wb = max(a.points, 1), max(b.points, 1)
    return replace(a, start=min(a.start, b.start), end=max(a.end, b.end), points=a.points + b.points,
                   lat=(a.lat * wa + b.lat * wb) / (wa + wb), lon=(a.lon * wa + b.lon * wb) / (wa + wb),
                   hint=a.hint or b.hint)


class Merger:
    """Segments in time order in, out again with nearby stays joined (drift, a split window, a
    waypoint inside a detected stay) and the moves inside or between them dropped."""

    def __init__(self, params: Params = Params()) -> None:
        self.params = params
        self.pending: list[Segment] = []  # a stay, then the moves after it

    def add(self, segment: Segment) -> list[Segment]:
        out: list[Segment] = []
        stay = self.pending[0] if self.pending and self.pending[0].kind == "stay" else None
        if stay is not None and segment.start - stay.end > self.params.merge_gap_s:
            out, self.pending, stay = self.pending, [], None
        if segment.kind == "move":
            inside = stay is not None and (segment.start + segment.end) / 2 <= stay.end
            if not inside:
                self.pending.append(segment)
            if stay is None:
                out, self.pending = out + self.pending, []
            return out
        if stay is not None and _close_by(stay, segment, self.params):
            self.pending = [_joined(stay, segment)]
            return out
        out, self.pending = out + self.pending, [segment]
        return out

    def close(self) -> list[Segment]:
        out, self.pending = self.pending, []
        return out
