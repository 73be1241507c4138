"""The simulator's ``Date`` header (formatted once per second of the simulated clock) tells the clock."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from test_sim_http import SQ, app_with

from lineage.sim.server import app_context


def test_the_date_header_follows_the_simulated_clock_to_the_second() -> None:
    app, req = app_with()
    clock = app_context(app).warehouse.clock
    for advance in (0.0, 0.0, 0.4, 3600.0, 86400.0 * 40, 0.7):
        clock.advance(advance)
        before = clock.now().replace(microsecond=0)
        answer = req("GET", f"{SQ}/")
        after = clock.now()
        told = parsedate_to_datetime(answer.headers["date"])
        assert before <= told <= after, (advance, before, told, after)
        assert answer.headers["date"].endswith(" GMT")
    # errors and control answers carry it too
    assert parsedate_to_datetime(req("GET", f"{SQ}/nope/").headers["date"]) >= told
    assert parsedate_to_datetime(req("GET", "/_sim/stats").headers["date"]) >= told
