"""Saved-query folders: list, get, create, rename, delete."""

from __future__ import annotations

import uuid

from lineage.api.models import Folder
from lineage.api.resources.base import FOLDERS, Resource, collect, segment

__all__ = ["Folders"]

_FOLDER = FOLDERS + "{id}/"


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a folder needs a non-empty name")


class Folders(Resource):
    """The endpoint methods of ``warehouse_saved_query_folders`` (a bare array, by name)."""

    async def list_folders(self) -> list[Folder]:
        """Every saved-query folder, by name."""
        return await collect(self._iter(Folder.from_api, FOLDERS))

    async def get_folder(self, folder_id: str | uuid.UUID) -> Folder:
        return await self._get_one(Folder.from_api, _FOLDER, segment(folder_id, "folder_id"), "folder")

    async def create_folder(self, name: str) -> Folder:
        _check_name(name)
        url = self._sender.url(FOLDERS)
        body = await self._sender.request("POST", FOLDERS, url, body={"name": name}, read_only=False)
        return self._parse(Folder.from_api, body, self._sender.display("POST", url))

    async def update_folder(self, folder_id: str | uuid.UUID, *, name: str) -> Folder:
        _check_name(name)
        fid = segment(folder_id, "folder_id")
        url = self._sender.url(_FOLDER, id=fid)
        body = await self._sender.request(
            "PATCH", _FOLDER, url, body={"name": name}, read_only=False, what=f"folder {fid}"
        )
        return self._parse(Folder.from_api, body, self._sender.display("PATCH", url))

    async def delete_folder(self, folder_id: str | uuid.UUID) -> None:
        """Delete a folder and every view in it (PostHog refuses if outside views depend on them)."""
        fid = segment(folder_id, "folder_id")
        await self._sender.request(
            "DELETE", _FOLDER, self._sender.url(_FOLDER, id=fid), read_only=False, what=f"folder {fid}"
        )
