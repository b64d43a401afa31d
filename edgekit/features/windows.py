"""Fixed-memory sliding-window state for the streaming reference, written the way the C bridge
will write it: every structure is a fixed-size array plus a few counters, and every push costs
O(1) (amortised O(1) for the monotonic deque; O(window) for the median's sorted insertion).

A window of `w` holds the last min(w, n) samples, so at a sequence's start windows are partial
(causal, at least one sample). Variances use sliding Welford updates (add the new sample, remove
the evicted one) rather than running sums of x and x^2, because E[x^2] - E[x]^2 cancels
catastrophically in float32 for signals such as acc_mag (~9.8 m/s^2, x^2 ~ 96) with a small spread.
"""

from __future__ import annotations

import math


class RingBuffer:
    """The last `capacity` values. C: `float buf[W]; uint16_t head, count;`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.buf = [0.0] * capacity
        self.head = 0  # the slot the next value goes to (the oldest value once full)
        self.count = 0

    def push(self, value: float) -> tuple[bool, float]:
        """Store `value`; return (whether a value was evicted, the evicted value)."""
        evicted = self.count == self.capacity
        old = self.buf[self.head]
        self.buf[self.head] = value
        self.head = (self.head + 1) % self.capacity
        if not evicted:
            self.count += 1
        return evicted, old


class SlidingSum:
    """Mean of the window from a running sum (for energy and crossing rate). The float32 bridge
    may re-add the ring buffer when `head` wraps to bound drift; the reference is float64."""

    def __init__(self, window: int) -> None:
        self.ring = RingBuffer(window)
        self.total = 0.0

    def push(self, value: float) -> float:
        evicted, old = self.ring.push(value)
        self.total += value - old if evicted else value
        return self.total / self.ring.count


class SlidingMoments:
    """Sliding-window mean and population variance (Welford add/remove)."""

    def __init__(self, window: int) -> None:
        self.ring = RingBuffer(window)
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0  # sum of squared deviations from the mean

    def push(self, value: float) -> None:
        evicted, old = self.ring.push(value)
        if evicted:
            self._remove(old)
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)

    def _remove(self, value: float) -> None:
        if self.n == 1:
            self.n, self.mean, self.m2 = 0, 0.0, 0.0
            return
        n_before = self.n - 1
        mean_before = self.mean - (value - self.mean) / n_before
        self.m2 -= (value - mean_before) * (value - self.mean)
        self.n, self.mean = n_before, mean_before

    def variance(self) -> float:
        return max(self.m2, 0.0) / self.n  # rounding can leave m2 a hair below 0

    def std(self) -> float:
        return math.sqrt(self.variance())


class SlidingCorrelation:
    """Pearson correlation of two channels over a sliding window (Welford co-moments).
    Defined as 0 when either variance is below `variance_floor` (a flat channel)."""

    def __init__(self, window: int, variance_floor: float) -> None:
        self.ring_x, self.ring_y = RingBuffer(window), RingBuffer(window)
        self.floor = variance_floor
        self.n = 0
        self.mean_x = self.mean_y = 0.0
        self.m2_x = self.m2_y = self.c_xy = 0.0

    def push(self, x: float, y: float) -> float:
        evicted, old_x = self.ring_x.push(x)
        _, old_y = self.ring_y.push(y)
        if evicted:
            self._remove(old_x, old_y)
        self.n += 1
        dx, dy = x - self.mean_x, y - self.mean_y
        self.mean_x += dx / self.n
        self.mean_y += dy / self.n
        self.m2_x += dx * (x - self.mean_x)
        self.m2_y += dy * (y - self.mean_y)
        self.c_xy += dx * (y - self.mean_y)
        var_x, var_y = self.m2_x / self.n, self.m2_y / self.n
        if var_x < self.floor or var_y < self.floor:
            return 0.0
        return min(1.0, max(-1.0, (self.c_xy / self.n) / math.sqrt(var_x * var_y)))

    def _remove(self, x: float, y: float) -> None:
        if self.n == 1:
            self.n, self.mean_x, self.mean_y, self.m2_x, self.m2_y, self.c_xy = 0, 0.0, 0.0, 0.0, 0.0, 0.0
            return
        n_before = self.n - 1
        mean_x_before = self.mean_x - (x - self.mean_x) / n_before
        mean_y_before = self.mean_y - (y - self.mean_y) / n_before
        self.m2_x -= (x - mean_x_before) * (x - self.mean_x)
        self.m2_y -= (y - mean_y_before) * (y - self.mean_y)
        self.c_xy -= (x - mean_x_before) * (y - self.mean_y)
        self.n, self.mean_x, self.mean_y = n_before, mean_x_before, mean_y_before


class SlidingExtremum:
    """Rolling max (or min) with a monotonic deque of (sample index, value) held in two ring
    arrays of `window` slots: values in the deque decrease (max) from front to back."""

    def __init__(self, window: int, is_max: bool) -> None:
        self.window = window
        self.is_max = is_max
        self.index = [0] * window
        self.value = [0.0] * window
        self.front = 0
        self.size = 0
        self.t = 0  # index of the next sample

    def push(self, value: float) -> float:
        w = self.window
        while self.size > 0:  # drop samples the new one dominates: they can never be the answer
            back = (self.front + self.size - 1) % w
            dominated = self.value[back] <= value if self.is_max else self.value[back] >= value
            if not dominated:
                break
            self.size -= 1
        if self.size == w:  # only when every slot is still in the window's past; evict the oldest
            self.front = (self.front + 1) % w
            self.size -= 1
        back = (self.front + self.size) % w
        self.index[back], self.value[back] = self.t, value
        self.size += 1
        while self.index[self.front] <= self.t - w:  # left the window
            self.front = (self.front + 1) % w
            self.size -= 1
        self.t += 1
        return self.value[self.front]


class SlidingMedian:
    """Rolling median over ring slots kept in value order: `order[:n]` lists the ring's slots,
    smallest value first. The new value always goes to the ring's head slot, which held the
    evicted value once the ring is full, so one insertion pass moves that slot to its new place:
    O(window) per sample, for short windows. C: `uint16_t order[W]` beside the shared ring."""

    def __init__(self, window: int) -> None:
        self.ring = RingBuffer(window)
        self.order = [0] * window

    def push(self, value: float) -> float:
        ring, order = self.ring, self.order
        slot = ring.head
        if ring.count == ring.capacity:  # the slot leaves its place and comes back with the new value
            at = order.index(slot)
            while at > 0 and ring.buf[order[at - 1]] > value:
                order[at] = order[at - 1]
                at -= 1
            while at + 1 < ring.count and ring.buf[order[at + 1]] < value:
                order[at] = order[at + 1]
                at += 1
        else:
            at = ring.count
            while at > 0 and ring.buf[order[at - 1]] > value:
                order[at] = order[at - 1]
                at -= 1
        order[at] = slot
        ring.push(value)
        n = ring.count
        middle = ring.buf[order[n // 2]]
        return middle if n % 2 else (ring.buf[order[n // 2 - 1]] + middle) / 2.0


class SlidingDft:
    """Power at DFT bins `bins` of the last n <= `window` samples: |sum x_m e^{-i 2 pi k m / N}|^2
    / n^2. The running sums use the phase index m = t mod N, which is also the ring slot, so the
    evicted sample x_{t-N} has the same table entry as x_t: one multiply-add per bin per sample
    and no growing phase argument to lose float32 accuracy."""

    TWO_PI = 2.0 * math.pi

    def __init__(self, window: int, bins: tuple[int, ...]) -> None:
        self.ring = RingBuffer(window)
        self.bins = bins
        self.cos_table = [[math.cos(self.TWO_PI * k * m / window) for m in range(window)] for k in bins]
        self.sin_table = [[math.sin(self.TWO_PI * k * m / window) for m in range(window)] for k in bins]
        self.re = [0.0] * len(bins)
        self.im = [0.0] * len(bins)

    def push(self, value: float) -> list[float]:
        m = self.ring.head
        evicted, old = self.ring.push(value)
        change = value - old if evicted else value
        n = self.ring.count
        powers = []
        for b in range(len(self.bins)):
            self.re[b] += change * self.cos_table[b][m]
            self.im[b] -= change * self.sin_table[b][m]
            powers.append((self.re[b] * self.re[b] + self.im[b] * self.im[b]) / (n * n))
        return powers
