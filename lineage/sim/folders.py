"""View folders of the simulated warehouse: list, create, rename and delete (with their views)."""

from __future__ import annotations

from typing import Any, Final

from lineage.posthog import VIEW_NAME_MAX_LENGTH
from lineage.sim.errors import invalid, not_found
from lineage.sim.records import Folder, canon_uuid, render_time
from lineage.sim.validate import not_a_dict, too_long
from lineage.sim.views import HasDependentsError, ViewEngine

__all__ = ["FolderEngine"]

_FOLDER_BLOCKED: Final = (
    "Cannot delete this folder because these views still have dependencies outside the folder: "
)


class FolderEngine(ViewEngine):
    """The folders of one team; deleting one deletes its views, dependents first."""

    def _folder_shape(self, folder: Folder) -> dict[str, Any]:
        count = sum(1 for v in self._views.values() if v.folder_id == folder.id and not v.deleted)
        return {
            "id": folder.id,
            "name": folder.name,
            "created_at": render_time(folder.created_at),
            "created_by": self._user(folder.created_by),
            "view_count": count,
            "user_access_level": "editor",
        }

    def _folder_name(self, raw: Any, *, me: str | None) -> str:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise invalid("Not a valid string.", "name")
        name = str(raw)
        if len(name) > VIEW_NAME_MAX_LENGTH:
            raise too_long("name", VIEW_NAME_MAX_LENGTH)
        name = name.strip()
        if not name:
            raise invalid("Folder name cannot be empty.", "name")
        if any(f.name == name and f.id != me for f in self._folders.values()):
            raise invalid("A folder with this name already exists.", "name")
        return name

    def list_folders(self) -> list[dict[str, Any]]:
        """Bare list ordered by name."""
        with self.lock:
            return [
                self._folder_shape(f) for f in sorted(self._folders.values(), key=lambda f: (f.name, f.id))
            ]

    def create_folder(self, body: Any, *, user_id: int) -> dict[str, Any]:
        """POST (201)."""
        with self._changing():
            if not isinstance(body, dict):
                raise not_a_dict(body)
            if "name" not in body or body["name"] is None:
                raise invalid("This field is required.", "name", code="required")
            name = self._folder_name(body["name"], me=None)
            folder = Folder(self._next("folder"), name, self.clock.now(), user_id)
            self._folders[folder.id] = folder
            return self._folder_shape(folder)

    def _folder(self, folder_id: str) -> Folder:
        fid = canon_uuid(folder_id)
        folder = self._folders.get(fid) if fid else None
        if folder is None:
            raise not_found()
        return folder

    def get_folder(self, folder_id: str) -> dict[str, Any]:
        with self.lock:
            return self._folder_shape(self._folder(folder_id))

    def update_folder(self, folder_id: str, body: Any) -> dict[str, Any]:
        """PATCH: rename."""
        with self._changing():
            folder = self._folder(folder_id)
            if not isinstance(body, dict):
                raise not_a_dict(body)
            if "name" in body:
                folder.name = self._folder_name(body["name"], me=folder.id)
            return self._folder_shape(folder)

    def delete_folder(self, folder_id: str) -> None:
        """Delete the folder's views (dependents first), then the folder; refuse outside dependents."""
        with self._changing():
            folder = self._folder(folder_id)
            remaining = {v.id: v for v in self._views.values() if v.folder_id == folder.id and not v.deleted}
            while remaining:
                done = []
                for vid, view in sorted(remaining.items(), key=lambda kv: kv[1].name):
                    try:
                        self._delete(view)
                    except HasDependentsError:
                        continue
                    done.append(vid)
                if not done:
                    blocked = ", ".join(sorted(v.name for v in remaining.values()))
                    raise invalid(_FOLDER_BLOCKED + blocked)
                for vid in done:
                    remaining.pop(vid)
            for view in self._views.values():
                if view.folder_id == folder.id:
                    view.folder_id = None
            del self._folders[folder.id]
