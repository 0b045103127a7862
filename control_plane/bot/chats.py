"""Who a chat acts as: the user linked to it (docs/operations.md#telegram), or the anonymous
agent."""

from sqlalchemy.orm import Session

from control_plane.security import ANONYMOUS, Agent, AgentType
from control_plane.services.errors import NoAccessError
from control_plane.services.users.telegram_link import linked_user
from pepeunit_core.db.enums import UserStatus


def chat_key(chat_id: int) -> str:
    """How `users.telegram_chat_id` holds a chat id (a string, as in the reference)."""
    return str(chat_id)


def chat_agent(session: Session, chat_id: int) -> Agent:
    """The linked user's agent (with its row, in `session`); anonymous for any other chat. A
    blocked user's chat is refused, as a blocked user's token is."""
    user = linked_user(session, chat_key(chat_id))
    if user is None:
        return ANONYMOUS
    if user.status == UserStatus.BLOCKED:
        raise NoAccessError("User is blocked")
    return Agent(AgentType.USER, user.uuid, user)
