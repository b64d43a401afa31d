"""edgekit.export"""
