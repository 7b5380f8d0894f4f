"""Request dependencies shared by every route module: the glossary being served."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kg.errors import StoreError
from kg.glossary import Glossary


async def get_glossary(request: Request) -> Glossary:
    """Dependency: the glossary being served now (``app.state.kg``, swapped on reload)."""
    state = getattr(request.app.state, "kg", None)
    if state is None:
        raise StoreError("no glossary is loaded yet; the service is starting")
    return state.glossary


GlossaryDep = Annotated[Glossary, Depends(get_glossary)]
