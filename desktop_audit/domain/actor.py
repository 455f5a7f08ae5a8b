"""The acting user, as the services see them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    id: str
    username: str
    role: str
    site_ids: frozenset[str] = field(default_factory=frozenset)
    full_name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees_site(self, site_id: str | None) -> bool:
        return self.is_admin or (site_id is not None and site_id in self.site_ids)

    @property
    def display(self) -> str:
        return f"{self.full_name or self.username} ({self.role})"
