"""The wire protocol: parse (wire JSON to typed commands) and render (results and events to wire)."""
