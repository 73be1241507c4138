"""Operating the warehouse (run, materialize, revert, cancel, resume, jobs): plans resolved on a
snapshot, confirmed live, then executed through PostHog's saved-query actions.

* :mod:`lineage.operate.plan` — selector to steps in waves, live confirmation and flags;
* :mod:`lineage.operate.run` — the run executor (waves side by side, skip below a failure, Ctrl-C);
* :mod:`lineage.operate.actions` — materialize, revert, cancel, resume, folders and the jobs listing;
* :mod:`lineage.operate.rerun` — re-run a view and what is materialized downstream, one after another
  (``lineage refresh``). Its old name :mod:`lineage.ops` stays for scripts that use it.
"""

from lineage.operate.plan import Plan, Step, assign_waves, confirm_live, plan_for
from lineage.operate.run import RunOutcome, RunReport, execute_run

__all__ = [
    "Plan",
    "RunOutcome",
    "RunReport",
    "Step",
    "assign_waves",
    "confirm_live",
    "execute_run",
    "plan_for",
]
