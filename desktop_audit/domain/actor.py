"""The acting user, as the services see them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_audit.domain.keys import Signer


@dataclass(frozen=True)
class Actor:
    id: str
    username: str
    role: str
    site_ids: frozenset[str] = field(default_factory=frozenset)
    full_name: str = ""
    # The signed-in user's unsealed trail key: what they journal is signed with it.  Not part
    # of who they are (two actors with the same user compare equal).
    signer: Signer | None = field(default=None, compare=False, repr=False)

    def with_signer(self, signer: Signer | None) -> Actor:
        return replace(self, signer=signer)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees_site(self, site_id: str | None) -> bool:
        return self.is_admin or (site_id is not None and site_id in self.site_ids)

    @property
    def display(self) -> str:
        return f"{self.full_name or self.username} ({self.role})"
