"""The mapping shown in the README is a valid mapping."""

from __future__ import annotations

import re
from pathlib import Path

from nextmove.foundation.mappings import load_mapping

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_mapping_example_loads(tmp_path: Path) -> None:
    block = re.search(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None
    path = tmp_path / "opportunities.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    mapping = load_mapping(str(path), "opportunities")
    assert mapping.columns["stage"] == "StageName"
    assert mapping.values["stage"]["Closed Won"] == "won"
