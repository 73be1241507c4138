"""A faithful simulator of PostHog's data-warehouse saved-query API, as either generation (*era*) of
PostHog: E3, the newest (the default), or E2, the older one (:mod:`lineage.sim.era` says what differs).

It serves fixtures in the ``lineage-sim-fixture/1`` format over real HTTP so that the demo, the
tests and the benchmarks run offline. docs/architecture.md ("Inside the simulator") shows its parts.
"""
