"""The native call path: the decorated object and the native code CPython calls."""
