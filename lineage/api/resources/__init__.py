"""The endpoint methods of the PostHog client, one mixin per part of the API.

:class:`~lineage.api.client.AsyncPostHogClient` is made of them all; each is a
:class:`~lineage.api.resources.base.Resource`, which gives it the client's sender and options.

===================  ==========================================================================
``saved_queries``    views: list, get, create, update, delete; ancestors, descendants, activity
``materialization``  a view's actions: run, materialize, resume, revert, cancel, run history
``folders``          saved-query folders
``jobs``             data-modeling jobs
``data_warehouse``   completed and failed activity, data health issues, database names
``tables``           warehouse tables
``consumers``        insights, dashboards, notebooks, endpoints, alerts
``hogql``            the query API (HogQL)
===================  ==========================================================================
"""

from lineage.api.resources.consumers import Consumers
from lineage.api.resources.data_warehouse import DataWarehouse
from lineage.api.resources.folders import Folders
from lineage.api.resources.hogql import HogQL
from lineage.api.resources.jobs import Jobs
from lineage.api.resources.materialization import Materialization
from lineage.api.resources.saved_queries import SavedQueries
from lineage.api.resources.tables import Tables

__all__ = [
    "Consumers",
    "DataWarehouse",
    "Folders",
    "HogQL",
    "Jobs",
    "Materialization",
    "SavedQueries",
    "Tables",
]
