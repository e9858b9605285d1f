"""Built-in backends: memory, local, cache_service (each imported only when used)."""
