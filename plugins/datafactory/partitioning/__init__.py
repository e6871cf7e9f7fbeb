"""Region partitions: a large feed is conformed one region (county code) at a time, so each task
holds one region's rows at a time, and regions run in parallel on different workers (small regions
share a task: `batch_regions`). Monthly feeds that carry
no region (meter readings) are partitioned by month the same way: there the "region" is the period.
A large feed with neither declares `key_buckets: N` and is split into N buckets by a hash of its first
key column, so every version of a record lands in the same bucket.

Each region of a feed is conformed as its own batch by the quality engine (`quality.conform`), in a
region home of its own (`partitions/<feed>/region=<code>/`): its raw slice, its conformed snapshots,
its quarantine and its quality history. Table-level checks (row count against the previous run,
freshness, drift) therefore compare a region with its own past. Referential checks still read the
other feeds' feed-level snapshots. The feed-level step then assembles the feed's conformed snapshot,
quarantine partition and quality result from the regions, one region in memory at a time.
A critical failure in any region holds the whole feed batch: no region's snapshot for the date is kept.
"""

from __future__ import annotations

from datafactory.specs import SourceSpec


def region_column(spec: SourceSpec) -> str | None:
    """The column a feed's rows are partitioned by: its first key when it declares `key_buckets`, else
    the USCC (area code at positions 3-8) when the feed has one, else an explicit region code, else the
    month (`period`, YYYY-MM); None for the rest."""
    if spec.key_buckets:
        return spec.keys[0]
    for column in ("uscc", "region_code", "period"):
        if column in spec.columns:
            return column
    return None
