"""The runtime core: beads, hotness policies, the registry and stats.

Imports no backend: compiling goes through the protocol in autotier.backends.base.
"""
