"""edgekit.runtime"""
