"""Builds the C feature bridge's cffi extension (edgekit.bridge._ek_bridge) at install time;
all other metadata lives in pyproject.toml. Needs cffi in [build-system] requires."""

from setuptools import setup

setup(cffi_modules=["edgekit/bridge/build.py:ffibuilder"])
