"""Pure and deterministic: types, ladder, money, commands, events, results, lifecycle, risk, engine, books."""
