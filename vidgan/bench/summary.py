"""The timed cases of one device as plain data: a row of raw times and derived numbers each.

A row holds its times (median, interquartile range, every run), its GFLOP and GFLOP/s, its
share of the peak of its dtype (and of the peak timed beside each run), its speed-up over
the baseline of its table and, for a full iteration, the roofline. The report
(:mod:`vidgan.bench.tables`) reads these rows and nothing else.
"""

from __future__ import annotations

import statistics
from typing import Any

from vidgan.bench.peaks import peaks_of, roofline_bound, sustained_peaks
from vidgan.bench.timing import Case


def summarise(cases: list[Case]) -> dict[str, Any]:
    """Rows of raw times and derived numbers; peaks in GFLOP/s per dtype and the GEMM that
    gave each; per dtype the median of the peaks timed beside the iterations' runs (the
    sustained peaks). Full iterations also get the roofline: ``bound_speedup`` (see
    :func:`~vidgan.bench.peaks.roofline_bound`; at the sustained peaks, the rounds' best for a
    dtype without) and ``bound_reached``, the measured speed-up over that bound."""
    peaks, peak_sizes = peaks_of(cases)
    sustained = sustained_peaks(cases)
    bound_peaks = {**peaks, **sustained}
    baselines = {c.key: c for c in cases if c.baseline and c.measurement}
    rows = []
    for c in cases:
        row: dict[str, Any] = {"group": c.group, "name": c.name, "config": c.config,
                               "direction": c.direction, "dtype": c.dtype, "levers": c.levers,
                               "note": c.note, "warmup_s": round(c.warmup_s, 3), "baseline": c.baseline}
        if c.group == "iteration":
            row["precomputed"] = c.precomputed
        m = c.measurement
        if m is not None:
            row.update(times=list(m.times), median=m.median, iqr=m.iqr, runs=len(m.times))
            if c.group == "peak" and c.flops:
                row.update(best=min(m.times), best_gflops_per_s=c.flops / min(m.times) / 1e9,
                           gives_peak=peak_sizes.get(c.dtype) == c.name)
        if c.data_times:
            row.update(data_times=c.data_times, data_median=statistics.median(c.data_times))
        if c.flops:
            row["gflop"] = c.flops / 1e9
            if m is not None:
                row["gflops_per_s"] = c.flops / m.median / 1e9
                if c.dtype in peaks:
                    row["peak_fraction"] = row["gflops_per_s"] / peaks[c.dtype]
                if c.peaks_beside and len(c.peaks_beside) == len(m.times):
                    # paired: each run against the peak timed right before it, as the speed-ups are
                    fractions = sorted(c.flops / t / 1e9 / p for t, p in zip(m.times, c.peaks_beside))
                    row.update(peaks_beside=c.peaks_beside, peak_fraction_beside=statistics.median(fractions),
                               peak_fraction_beside_range=[fractions[0], fractions[-1]])
        base = baselines.get(c.key)
        if m is not None and base is not None:
            b = base.measurement
            if c.group == "iteration" and len(b.times) == len(m.times):
                # paired: round r's reference run against round r's run of this config, which
                # ran next to it; load that drifts between rounds cancels out
                ratios = sorted(r / t for r, t in zip(b.times, m.times))
                row["speedup"] = statistics.median(ratios)
                row["speedup_range"] = [ratios[0], ratios[-1]]
            else:
                row["speedup"] = b.median / m.median
            if c.group == "iteration" and c.flops and base.flops and {c.dtype, base.dtype} <= bound_peaks.keys():
                row["bound_speedup"] = roofline_bound(base.flops, bound_peaks[base.dtype], c.flops,
                                                      bound_peaks[c.dtype])
                row["bound_reached"] = row["speedup"] / row["bound_speedup"]
        rows.append(row)
    return {"peaks_gflops": peaks, "peak_sizes": peak_sizes, "sustained_peaks_gflops": sustained, "rows": rows}
