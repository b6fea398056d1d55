"""The read model: live views of open markets, built only from WAL events."""
