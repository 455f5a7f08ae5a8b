"""Laptops syncing at the same time through two server processes, as separate
`desktop-audit sync` processes (a small version of `./dev bench load`; the story and its
checks are in tests/sync/load.py): every record on the server exactly once, conflicts
kept and shown, the same legal reference made on two laptops held back on one of them,
and everyone converging."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync.conftest import ServerGroup
from tests.sync.load import LoadWorld, Plan, scenario

pytestmark = pytest.mark.sync


def test_six_laptops_sync_at_once_through_two_processes(server_group: ServerGroup,
                                                        tmp_path: Path) -> None:
    if not server_group.running():
        server_group.start(2)
    server_group.reset()
    world = LoadWorld(tmp_path, server_group.urls, Plan(laptops=6, records=20, shared=2,
                                                        timeout=300))
    figures = scenario(world)
    assert figures["counts"]["AspectImpactLog"] == 2 + 6 * 20
    # Three laptops edited each shared record: one value on the server, two kept as conflicts.
    assert figures["conflicts"] == 6 - 2
