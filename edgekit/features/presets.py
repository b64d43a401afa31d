"""Name a FeatureSpec the way a user does on the command line: a preset, a spec .json file, or
nothing (chosen from the dataset's channels)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from edgekit.errors import SpecError
from edgekit.features.spec import FeatureSpec

if TYPE_CHECKING:
    from edgekit.data.dataset import SequenceDataset

PRESETS: dict[str, Callable[[], FeatureSpec]] = {
    "cmi": FeatureSpec.cmi_default,
    "cmi_default": FeatureSpec.cmi_default,
    "uci_har": FeatureSpec.uci_har_default,
    "uci_har_default": FeatureSpec.uci_har_default,
}


def resolve_spec(name: str | None, ds: "SequenceDataset | None" = None) -> FeatureSpec:
    """`None` or "auto": `FeatureSpec.for_dataset(ds)`; a preset name (cmi, uci_har); or a path
    to a spec written by `FeatureSpec.to_json` (e.g. a run directory's feature_spec.json)."""
    if name is None or name == "auto":
        if ds is None:
            raise SpecError("no feature spec named and no dataset to choose one from; "
                            f"pass a preset ({', '.join(PRESETS)}) or a spec .json file")
        return FeatureSpec.for_dataset(ds)
    if name in PRESETS:
        return PRESETS[name]()
    path = Path(name)
    if path.suffix == ".json":
        if not path.is_file():
            raise SpecError(f"feature spec file {path} not found")
        return FeatureSpec.from_json(path.read_text())
    raise SpecError(f"feature spec {name!r} unknown; expected a preset ({', '.join(PRESETS)}), "
                    "'auto', or a spec .json file")
