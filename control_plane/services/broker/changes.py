"""The one hook for "who may use which topic changed": call it after committing a change to
units or their nodes (unit created, nodes synced to a new version, unit deleted)."""

import logging

from sqlalchemy.orm import Session

from control_plane.services.broker.access import note_broker_access_changed
from control_plane.services.broker.mosquitto_acl import sync_mosquitto_acl
from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.broker_access")


def broker_access_changed(session: Session, settings: Settings) -> None:
    """Brokers of this process see the change at once; with PU_MOSQUITTO_ACL_FILE set, the ACL
    file is rewritten and Mosquitto reloaded.

    Never raises: the change is already committed. A failed rewrite is logged, and the next
    change (or `pepeunit broker acl`) writes the file again.
    """
    note_broker_access_changed()
    if settings.mosquitto_acl_file is None:
        return
    try:
        sync_mosquitto_acl(settings, session.get_bind())
    except Exception:
        logger.exception("the Mosquitto ACL file %s is not up to date", settings.mosquitto_acl_file)
