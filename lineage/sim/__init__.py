"""A faithful simulator of PostHog's data-warehouse saved-query API (E2 behaviour, E3 as a switch).

It serves fixtures in the ``lineage-sim-fixture/1`` format over real HTTP so that the demo, the
tests and the benchmarks run offline.
"""
