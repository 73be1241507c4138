"""Each view's activity log: what PostHog's ``GET .../saved_queries/:id/activity/`` lists.

Every change of a view's query (and its creation) adds an entry and moves the view's
``latest_history_id`` - a PATCH of the query must name the newest one, or PostHog answers that the
query was modified by someone else.
"""

from __future__ import annotations

from typing import Any

from lineage.sim.records import View, det_uuid, render_time
from lineage.sim.team import TeamState

__all__ = ["ActivityLog"]


class ActivityLog(TeamState):
    """The views' activity log of one team."""

    def _log_query_change(
        self, view: View, *, user_id: int | None = None, before: str | None = None, created: bool = False
    ) -> None:
        self._activity += 1
        self._record_activity(view, user_id=user_id, before=before, created=created)
        view.activity_id = self.rules.activity_id(self.team_id, self._activity)

    def _record_activity(self, view: View, *, user_id: int | None, before: str | None, created: bool) -> None:
        moment = self.clock.now()
        entry_id = det_uuid("activity", self.team_id, self._activity)
        self._activity_log.setdefault(view.id, []).append(
            {
                "id": entry_id,
                "user": self._user(user_id) if user_id is not None else None,
                "unread": False,
                "is_system": user_id is None,
                "activity": "created" if created else "updated",
                "item_id": view.id,
                "scope": "DataWarehouseSavedQuery",
                "detail": {
                    "id": view.id,
                    "changes": [
                        {
                            "type": "DataWarehouseSavedQuery",
                            "action": "created" if created else "changed",
                            "field": "query",
                            "before": None if created else {"kind": "HogQLQuery", "query": before},
                            "after": {"kind": "HogQLQuery", "query": view.sql},
                        }
                    ],
                    "merge": None,
                    "trigger": None,
                    "name": view.name,
                    "short_id": None,
                    "type": None,
                },
                "created_at": render_time(moment),
            }
        )

    def activity(self, view_id: str) -> list[dict[str, Any]]:
        """``GET .../:id/activity/``: the view's activity log, newest first (PostHog's load_activity)."""
        with self.lock:
            view = self._view(view_id)
            return list(reversed(self._activity_log.get(view.id, [])))
