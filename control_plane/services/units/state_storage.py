"""A unit's state storage (docs/compatibility.md#device-routes): free text the device writes and
reads back over REST, kept AES-GCM encrypted in `units.cipher_state_storage`. Creator or the unit
only."""

from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.security import Agent
from control_plane.services.errors import UnitError
from control_plane.services.units.access import device_unit
from pepeunit_core.crypto import Cipher, DecryptionError
from pepeunit_core.settings import Settings


def set_state_storage(
    session: Session, settings: Settings, cipher: Cipher, agent: Agent, uuid: UUID, state: str
) -> None:
    """Stores `state`; an empty string clears it."""
    unit = device_unit(session, agent, uuid)
    if len(state) > settings.max_cipher_length:
        raise UnitError(f"The state is longer than {settings.max_cipher_length} characters")
    unit.cipher_state_storage = cipher.encrypt(state) if state else None
    session.commit()


def get_state_storage(session: Session, cipher: Cipher, agent: Agent, uuid: UUID) -> str:
    """The stored state, "" when there is none."""
    unit = device_unit(session, agent, uuid)
    if not unit.cipher_state_storage:
        return ""
    try:
        return cipher.decrypt(unit.cipher_state_storage)
    except DecryptionError as error:
        raise UnitError("The unit's state storage is unreadable") from error
