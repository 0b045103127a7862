"""What a query selects below the current field."""

from collections.abc import Iterable

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def selects_field(info: Info, name: str) -> bool:
    """Whether a field named `name` (its schema name, whatever its alias) is selected anywhere
    below the current field, through named fragments and inline fragments alike."""
    return any(_contains(field.selections, name) for field in info.selected_fields)


def _contains(selections: Iterable[Selection], name: str) -> bool:
    for selection in selections:
        if isinstance(selection, SelectedField) and selection.name == name:
            return True
        if isinstance(selection, (SelectedField, InlineFragment, FragmentSpread)) and _contains(
            selection.selections, name
        ):
            return True
    return False
