"""Compact students; importing this package registers them (`edgekit.models.registry`)."""

from edgekit.models.students import lite, mbconv_tcn, modern_tcn  # noqa: F401  (runs @register_model)
