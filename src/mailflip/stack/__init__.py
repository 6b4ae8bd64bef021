"""The local stack and the worker's composition: Temporal dev server, worker, adapters."""
