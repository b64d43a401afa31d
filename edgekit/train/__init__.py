"""edgekit.train"""
