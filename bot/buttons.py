"""The buttons under every answer: Helpful, Wrong, More.

Each button's custom_id names its action and the answer's id in the feedback database, and
discord.py matches clicks against TEMPLATE (a DynamicItem registered in setup_hook): a click
on a message sent before a restart is understood, and nothing is kept in memory per message.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Self

import discord

# v1: bump when the meaning of a custom_id changes, so old buttons are not misread.
CUSTOM_ID_PREFIX = "citebot:v1"
TEMPLATE = re.compile(
    rf"{CUSTOM_ID_PREFIX}:(?P<action>helpful|wrong|more):(?P<answer>[0-9a-f]{{16}})"
)


class Action(StrEnum):
    HELPFUL = "helpful"
    WRONG = "wrong"
    MORE = "more"


LOOK: dict[Action, tuple[str, discord.ButtonStyle]] = {
    Action.HELPFUL: ("Helpful", discord.ButtonStyle.success),
    Action.WRONG: ("Wrong", discord.ButtonStyle.danger),
    Action.MORE: ("More", discord.ButtonStyle.secondary),
}


def custom_id(action: Action, answer_id: str) -> str:
    return f"{CUSTOM_ID_PREFIX}:{action.value}:{answer_id}"


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=TEMPLATE
):
    def __init__(self, action: Action, answer_id: str) -> None:
        self.action = action
        self.answer_id = answer_id
        label, style = LOOK[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=custom_id(action, answer_id))
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[discord.Client],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(Action(match["action"]), match["answer"])

    async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
        from bot.app import CiteBot  # imported here: bot.app imports this module

        client = interaction.client
        if isinstance(client, CiteBot) and client.answers is not None:
            await client.answers.on_answer_button(interaction, self.action, self.answer_id)


def answer_view(answer_id: str) -> discord.ui.View:
    """Helpful, Wrong and More for one stored answer. timeout=None: the buttons never
    expire."""
    view = discord.ui.View(timeout=None)
    for action in Action:
        view.add_item(AnswerButton(action, answer_id))
    return view
