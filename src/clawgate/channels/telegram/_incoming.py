"""A person's message as the channel acts on it (read from an update by `_updates`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Incoming"]


@dataclass(frozen=True)
class Incoming:
    update_id: int
    chat_id: int
    chat_type: str  # private | group | supergroup | channel
    thread_id: int | None  # a forum topic
    user_id: int | None
    user_name: str | None
    message_id: int
    text: str  # the text, or a photo's caption
    photo: str | None = None  # the file_id of the largest size
    other_media: str | None = None  # what else came that the bot cannot read
    addressed: bool = False  # mentions the bot, replies to it, or is a private chat
    command: str | None = None  # "new" for "/new" (and "/new@ThisBot")
    args: str = ""

    @property
    def group(self) -> bool:
        return self.chat_type in ("group", "supergroup")

    @property
    def chat_key(self) -> str:
        """A chat, or a topic of a forum group: each has its own session."""
        return f"{self.chat_id}:{self.thread_id}" if self.thread_id else str(self.chat_id)
