"""The tour: the seed's factory snippet and the core operations on the memory and local backends."""

from __future__ import annotations

import tempfile

from perf_storage_factory import Perf__Storage__Factory


def main() -> None:
    """Run the tour and print what each step did."""
    with tempfile.TemporaryDirectory() as root:
        for backend in ("memory", "local"):
            storage_config = {"backend": backend, "session_id": "experiment_alpha", "target_id": "item_001"}
            if backend == "local":
                storage_config["root"] = root
            storage = Perf__Storage__Factory.create(storage_config)
            storage.save("results/metrics.json", {"latency_ms": 12.5, "nodes": 340})
            storage.save_string("output/rendered.html", "<h1>Hello</h1>\n")
            print(f"{storage!r}")
            print("  keys:", storage.list_keys())
            print("  metrics:", storage.load("results/metrics.json"))
            print("  info:", storage.info("output/rendered.html"))
            sibling = storage.for_target("item_002")
            sibling.save("results/metrics.json", {"latency_ms": 11.0, "nodes": 338})
            print("  targets:", storage.targets())


if __name__ == "__main__":
    main()
