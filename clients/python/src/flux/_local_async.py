"""AsyncLocalValidator: the asyncio face of LocalValidator. The table, acknowledgements and usage reports run on the
blocking validator's threads (its own channel); validate() answers inline when no RPC is needed, runs a call that
needs a lease in a worker thread, and asks the network through the AsyncClient."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Callable, Iterable, List, Optional

from ._local_validator import METERED, NETWORK, LocalValidator, LocalValidatorStats, State
from ._models import KeyInfo

if TYPE_CHECKING:
    from ._async_client import AsyncClient
    from ._client import Client


class AsyncLocalValidator:
    """Start it with `await client.api_keys.local_validator()`; `async with` closes it."""

    def __init__(self, validator: LocalValidator, client: "AsyncClient", blocking_client: "Client") -> None:
        self._validator = validator
        self._client = client
        self._blocking_client = blocking_client

    @classmethod
    async def start(
        cls,
        client: "AsyncClient",
        blocking_client: "Client",
        name: Optional[str],
        pepper: Optional[str],
        on_state_change: Optional[Callable[[State], None]],
        start_timeout: float,
    ) -> "AsyncLocalValidator":
        loop = asyncio.get_running_loop()
        callback = None
        if on_state_change is not None:
            # The state changes on the validator's threads; the callback runs on this event loop.
            def callback(state: State) -> None:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(on_state_change, state)

        try:
            validator = await asyncio.to_thread(
                LocalValidator, blocking_client, name, pepper, callback, start_timeout
            )
        except BaseException:
            blocking_client.close()
            raise
        return cls(validator, client, blocking_client)

    async def validate(
        self,
        raw_key: str,
        required_scopes: Optional[Iterable[str]] = None,
        client_ip: Optional[str] = None,
        cost: Optional[int] = None,
    ) -> KeyInfo:
        """As `await client.api_keys.validate(...)`: same arguments, answer and errors; local while fresh."""
        scopes: List[str] = list(required_scopes or ())
        v = self._validator
        answer = v._local(raw_key, scopes, client_ip, cost, False)
        if answer is METERED:
            answer = await asyncio.to_thread(v._local, raw_key, scopes, client_ip, cost, True)
        if answer is NETWORK:
            v._count_network()
            return await self._client.api_keys.validate(raw_key, scopes, client_ip, cost)
        return answer  # type: ignore[no-any-return]

    @property
    def state(self) -> State:
        return self._validator.state

    def stats(self) -> LocalValidatorStats:
        return self._validator.stats()

    async def close(self) -> None:
        """Reports the last usage (closing) and stops; idempotent."""
        await asyncio.to_thread(self._validator.close)
        self._blocking_client.close()

    async def __aenter__(self) -> "AsyncLocalValidator":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"flux.AsyncLocalValidator(state={self.state!r})"
