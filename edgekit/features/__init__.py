"""edgekit.features"""
