"""A model stand-in for agno 1.x and 2.x: a subclass of Agno's model base that answers from a script,
offline. It sees the messages Agno sends, so an answer can prove the conversation history was there.

    from scripted_model import ScriptedModel
    agent = Agent(model=ScriptedModel(), ...)

Every prompt it receives is recorded in ScriptedModel.prompts (a class attribute, so it survives the
copies Agno makes of agents and models).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Iterator, List

from agno.models.base import Model
from agno.models.response import ModelResponse

ANSWERS: Dict[str, str] = {
    "canada": "About 40 million people live in Canada.",
    "anthem": "Canada's national anthem is called 'O Canada'.",
    "france": "The capital of France is Paris.",
    "population": "Paris has about 2.1 million inhabitants.",
    "story": "Top story: a Rust session store made agents 1,000x faster.",
    "article": "Article: In-memory session stores, reviewed.",
}


def _text(message: Any) -> str:
    get = getattr(message, "get_content_string", None)
    content = get() if callable(get) else message.content
    return content if isinstance(content, str) else str(content or "")


def answer(messages: List[Any]) -> str:
    users = [_text(m) for m in messages if getattr(m, "role", None) == "user"]
    last = users[-1] if users else ""
    earlier = users[:-1]
    low = last.lower()
    if "first question" in low:
        reply = f"Your first question was: {earlier[0]}" if earlier else "This is your first question."
    else:
        reply = next((a for k, a in ANSWERS.items() if k in low), f"Noted: {last[:60]}")
    return f"{reply} [history: {len(earlier)} earlier user message(s)]"


@dataclass
class ScriptedModel(Model):
    id: str = "scripted-model"
    name: str = "ScriptedModel"
    provider: str = "Scripted"

    prompts: ClassVar[List[List[str]]] = []

    def _respond(self, messages: List[Any]) -> ModelResponse:
        ScriptedModel.prompts.append([f"{m.role}: {_text(m)}" for m in messages])
        return ModelResponse(role="assistant", content=answer(messages))

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._respond(kwargs.get("messages") or (args[0] if args else []))

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self.invoke(*args, **kwargs)

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[ModelResponse]:
        yield self.invoke(*args, **kwargs)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        yield self.invoke(*args, **kwargs)

    # agno 1.x parses what invoke returned; agno 2.x names these with a leading underscore.
    def parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        return response  # type: ignore[no-any-return]

    def parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return response  # type: ignore[no-any-return]

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        return response  # type: ignore[no-any-return]

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return response  # type: ignore[no-any-return]
