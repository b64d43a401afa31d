"""The README's model table is `edgekit models list --markdown`, regenerated (about 5 s on CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from edgekit.cli.models import models as models_cli  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- MODELS -->", "<!-- /MODELS -->"


def test_readme_models_block_is_the_generated_table():
    text = README.read_text()
    assert START in text and END in text, f"{README}: expected the {START} ... {END} block"
    block = text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    result = CliRunner().invoke(models_cli, ["list", "--markdown"])
    assert result.exit_code == 0, result.output
    assert block == result.output, ("README's model table differs from `edgekit models list --markdown`; put that "
                                    "output between the MODELS markers (bench/make_tables.py does it)")
