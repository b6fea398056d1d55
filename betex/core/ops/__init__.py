"""The operator toolkit behind the CLI: inspect, replay, snapshot, backup and rebuild."""
